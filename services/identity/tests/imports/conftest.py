"""Builders for the parsing tests: valid 身分證號 (`national_ids`) and students files (`sheets`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date

import openpyxl
import pytest

from licheng.identity.imports import RowError, parse_students, read_table

TODAY = date(2026, 5, 1)
HEADER = ["學號", "姓名", "班級", "座號", "身分證號", "出生日期", "在籍狀態"]

# An independent formulation of the check: a letter's code is its index here plus ten.
ID_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def make_id(letter: str, second: str, body: str) -> str:
    """A valid ID: `second` is 1/2 (citizen), 8/9 (new resident) or A–D (old resident)."""
    code = ID_LETTERS.index(letter) + 10
    n1 = (ID_LETTERS.index(second) + 10) % 10 if second.isalpha() else int(second)
    digits = [code // 10, code % 10, n1, *(int(c) for c in body)]
    total = sum(w * d for w, d in zip([1, 9, 8, 7, 6, 5, 4, 3, 2, 1], digits, strict=True))
    return f"{letter}{second}{body}{(10 - total % 10) % 10}"


def break_checksum(national_id: str) -> str:
    """The same ID with a wrong check digit."""
    return national_id[:-1] + str((int(national_id[-1]) + 1) % 10)


def student(no: str, national_id: str, **changes: str) -> list[str]:
    """A valid students row (as CSV text) with some cells changed."""
    row = {
        "學號": no,
        "姓名": "王小明",
        "班級": "101",
        "座號": "1",
        "身分證號": national_id,
        "出生日期": "2009-03-04",
        "在籍狀態": "在籍",
    }
    row.update(changes)
    return [row[column] for column in HEADER]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    """CSV text (CRLF line ends) of `rows`, the header included, in `encoding`."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]], title: str = "學生名單") -> bytes:
    """A workbook whose one sheet, titled `title`, holds `rows`, the header included."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def student_errors(rows: list[list[str]], known: set[str] | None = None) -> list[RowError]:
    """The errors of a students CSV (header added) parsed on `TODAY`, classes `known` if given."""
    table = read_table(csv_bytes([HEADER, *rows]), "students.csv")
    return parse_students(table, known_class_codes=known, today=TODAY).errors


class NationalIds:
    """Valid 身分證號, computed apart from the code under test (the `national_ids` fixture)."""

    LETTERS = ID_LETTERS
    A = make_id("A", "1", "2345678")  # A123456789, the textbook example
    B = make_id("F", "2", "0000011")
    C = make_id("Q", "1", "9876543")
    make = staticmethod(make_id)
    break_checksum = staticmethod(break_checksum)


class StudentSheets:
    """Students files and rows to parse (the `sheets` fixture)."""

    TODAY = TODAY
    HEADER = HEADER
    student = staticmethod(student)
    csv = staticmethod(csv_bytes)
    xlsx = staticmethod(xlsx_bytes)
    errors = staticmethod(student_errors)


@pytest.fixture
def national_ids() -> type[NationalIds]:
    return NationalIds


@pytest.fixture
def sheets() -> type[StudentSheets]:
    return StudentSheets
