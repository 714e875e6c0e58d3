"""The batch import's pure parts: sheet names, the re-import key, reading every sheet."""

from __future__ import annotations

import io
import uuid

import openpyxl
import pytest

from licheng.kit.errors import BadRequest
from licheng.kit.tabular import read_workbook
from licheng.performances.categories import CATEGORIES
from licheng.performances.imports.parsing import (
    import_key,
    parse_records,
    sheet_category,
    sheet_columns,
)
from licheng.performances.imports.template import template_xlsx
from licheng.performances.models import Category


def test_sheets_are_named_by_seed_title_or_central_sheet() -> None:
    assert sheet_category("競賽參與") is Category.COMPETITION
    assert sheet_category(" 競賽參與紀錄 ") is Category.COMPETITION
    assert sheet_category("服務學習紀錄") is Category.SERVICE
    assert sheet_category("說明") is None
    assert sheet_category("Sheet1") is None


def test_every_sheet_has_distinct_headings() -> None:
    for spec in CATEGORIES.values():
        names = [column.name for column in sheet_columns(spec)]
        assert len(names) == len(set(names)), spec.title


def test_the_import_key_is_stable_and_names_what_matters() -> None:
    student = uuid.uuid4()
    fields = {"name": "科展", "level": "1"}
    key = import_key(student, 115, Category.COMPETITION, fields, "簡述")
    assert key == import_key(student, 115, Category.COMPETITION, dict(reversed(fields.items())),
                             "簡述")  # fmt: skip
    assert len(key) == 64
    assert key != import_key(student, 115, Category.COMPETITION, fields, "另一個簡述")
    assert key != import_key(student, 114, Category.COMPETITION, fields, "簡述")
    assert key != import_key(uuid.uuid4(), 115, Category.COMPETITION, fields, "簡述")


def test_the_template_reads_back_as_empty_category_sheets() -> None:
    tables = read_workbook(template_xlsx([("A0001", "乙級")]))
    assert tables[0].sheet == "說明"
    assert len(tables) == 1 + len(CATEGORIES)
    parsed = parse_records(tables, students={}, certificates=set())
    assert parsed.rows == []
    assert parsed.errors == []


def test_workbooks_only() -> None:
    with pytest.raises(BadRequest):
        read_workbook(b"")
    with pytest.raises(BadRequest):
        read_workbook("學年度,學號\n".encode())
    book = openpyxl.Workbook()
    out = io.BytesIO()
    book.save(out)
    assert [t.rows for t in read_workbook(out.getvalue())] == [()]
