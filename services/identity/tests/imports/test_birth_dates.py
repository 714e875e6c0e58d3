"""出生日期 in a students file: AD and ROC (民國) forms, and unreal or implausible dates."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from licheng.identity.imports import parse_students, read_table


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2008-05-01", date(2008, 5, 1)),
        ("2008/5/1", date(2008, 5, 1)),
        ("0970501", date(2008, 5, 1)),
        ("970501", date(2008, 5, 1)),
        ("97/05/01", date(2008, 5, 1)),
        ("097/05/01", date(2008, 5, 1)),
        ("1050101", date(2016, 1, 1)),
        ("民國97年5月1日", date(2008, 5, 1)),
        ("20080501", date(2008, 5, 1)),
    ],
)
def test_birth_date_forms(text: str, expected: date, sheets: Any, national_ids: Any) -> None:
    rows = [sheets.HEADER, sheets.student("1", national_ids.A, 出生日期=text)]
    table = read_table(sheets.csv(rows), "a.csv")
    result = parse_students(table, known_class_codes=None, today=sheets.TODAY)
    assert result.errors == []
    assert result.rows[0].birth_date == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("0970230", "date_invalid"),
        ("2008-13-01", "date_invalid"),
        ("97.5", "date_invalid"),
        ("明天", "date_invalid"),
        ("1150502", "date_out_of_range"),  # the day after TODAY
        ("1899-12-31", "date_out_of_range"),
    ],
)
def test_bad_birth_dates(text: str, code: str, sheets: Any, national_ids: Any) -> None:
    (error,) = sheets.errors([sheets.student("1", national_ids.A, 出生日期=text)])
    assert (error.row, error.column, error.code) == (2, "出生日期", code)
    assert text not in error.message
