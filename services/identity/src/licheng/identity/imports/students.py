"""The students file: 學號, 姓名, 班級, 座號, 身分證號, 出生日期, 在籍狀態 and an optional email."""

from __future__ import annotations

import re
from collections.abc import Set
from datetime import date

from licheng.contracts.people import EnrolmentStatus
from licheng.identity.imports.dates import parse_date, plausible_birth_date, taipei_today
from licheng.identity.imports.model import StudentRow
from licheng.identity.imports.national_id import national_id_problem, normalise_national_id
from licheng.kit.tabular import EMAIL, Column, FirstSeen, ParseResult, RowReader, Sheet, Table

STUDENT_NO = Column("學號", max_length=32)
NAME = Column("姓名")
CLASS_CODE = Column("班級", aliases=("班級代碼",), max_length=32)
SEAT_NO = Column("座號")
NATIONAL_ID = Column("身分證號", aliases=("身分證字號", "身分證統一編號", "統一證號"))
BIRTH_DATE = Column("出生日期", aliases=("生日",))
STATUS = Column("在籍狀態", aliases=("學籍狀態",))
STUDENT_COLUMNS = (STUDENT_NO, NAME, CLASS_CODE, SEAT_NO, NATIONAL_ID, BIRTH_DATE, STATUS, EMAIL)

MAX_SEAT_NO = 999
_DIGITS = re.compile(r"[0-9]+")
_STATUSES = "、".join(status.value for status in EnrolmentStatus)


def _seat_no(reader: RowReader) -> int | None:
    text = reader.text(SEAT_NO, identifier=True)
    if text is None:
        return None
    if not _DIGITS.fullmatch(text) or not 0 < int(text) <= MAX_SEAT_NO:
        reader.error(SEAT_NO, "seat_no_invalid", "座號必須是正整數")
        return None
    return int(text)


def _national_id(reader: RowReader) -> str | None:
    text = reader.text(NATIONAL_ID)
    if text is None:
        return None
    value = normalise_national_id(text)
    problem = national_id_problem(value)
    if problem == "national_id_format":
        reader.error(NATIONAL_ID, problem, "身分證號格式不正確")
        return None
    if problem == "national_id_checksum":
        reader.error(NATIONAL_ID, problem, "身分證號檢查碼不正確")
        return None
    return value


def _birth_date(reader: RowReader, today: date) -> date | None:
    cell = reader.cell(BIRTH_DATE)
    text = reader.text(BIRTH_DATE, identifier=True)
    if text is None:
        return None
    value = cell if isinstance(cell, date) else parse_date(text)
    if value is None:
        message = "出生日期不是有效的日期（可用 2008-05-01、2008/5/1 或民國 0970501、97/05/01）"
        reader.error(BIRTH_DATE, "date_invalid", message)
        return None
    if not plausible_birth_date(value, today):
        reader.error(BIRTH_DATE, "date_out_of_range", "出生日期不可早於 1900 年或晚於今天")
        return None
    return value


def _status(reader: RowReader) -> EnrolmentStatus | None:
    text = reader.text(STATUS)
    if text is None:
        return None
    try:
        return EnrolmentStatus(text)
    except ValueError:
        reader.error(STATUS, "status_invalid", f"在籍狀態必須是 {_STATUSES} 其中之一")
        return None


def parse_students(
    table: Table, *, known_class_codes: Set[str] | None, today: date | None = None
) -> ParseResult[StudentRow]:
    """Validate a students file; with `known_class_codes`, every 班級 must be one of them."""
    today = today or taipei_today()
    sheet = Sheet(table, STUDENT_COLUMNS)
    numbers, emails = FirstSeen(), FirstSeen()
    national_ids: dict[str, tuple[int, str | None]] = {}
    rows: list[StudentRow] = []
    for reader in sheet.rows():
        student_no = reader.text(STUDENT_NO, identifier=True)
        name = reader.text(NAME)
        class_code = reader.text(CLASS_CODE, identifier=True)
        seat_no = _seat_no(reader)
        national_id = _national_id(reader)
        birth_date = _birth_date(reader, today)
        status = _status(reader)
        email = reader.email()
        if student_no is not None and (first := numbers.earlier(student_no, reader.row)):
            reader.error(STUDENT_NO, "duplicate_student_no", f"學號與第 {first} 列重複")
        if national_id is not None:
            first_row, first_no = national_ids.setdefault(national_id, (reader.row, student_no))
            if first_row != reader.row and first_no != student_no:
                message = f"身分證號與第 {first_row} 列相同，但學號不同"
                reader.error(NATIONAL_ID, "duplicate_national_id", message)
        if email is not None and (first := emails.earlier(email, reader.row)):
            reader.error(EMAIL, "duplicate_email", f"電子郵件與第 {first} 列重複")
        if (
            class_code is not None
            and known_class_codes is not None
            and class_code not in known_class_codes
        ):
            message = f"找不到班級「{class_code}」，請先匯入班級資料"
            reader.error(CLASS_CODE, "unknown_class", message)
        if (
            reader.failed
            or student_no is None
            or name is None
            or class_code is None
            or seat_no is None
            or national_id is None
            or birth_date is None
            or status is None
        ):
            continue
        rows.append(
            StudentRow(
                student_no=student_no,
                name=name,
                class_code=class_code,
                seat_no=seat_no,
                national_id=national_id,
                birth_date=birth_date,
                status=status,
                email=email,
                row=reader.row,
            )
        )
    return sheet.result(rows)
