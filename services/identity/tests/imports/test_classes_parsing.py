"""The classes file: 班級代碼, 年級 in its many forms, and 導師 among the known staff."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from licheng.identity.imports import parse_classes, read_table


@pytest.mark.parametrize(
    ("grade", "expected"),
    [("1", 1), ("2", 2), ("3", 3), ("一", 1), ("二", 2), ("三", 3), ("10", 1), ("11", 2),
     ("12", 3), ("高三", 3), ("２", 2)],
)  # fmt: skip
def test_grade_forms(grade: str, expected: int, sheets: Any) -> None:
    table = read_table(sheets.csv([["班級代碼", "年級"], ["101", grade]]), "classes.csv")
    result = parse_classes(table, known_staff_nos=None)
    assert result.errors == []
    assert result.rows[0].grade == expected


def test_classes_are_checked(sheets: Any) -> None:
    rows: list[Sequence[object]] = [
        ["班級代碼", "年級", "班級名稱", "導師"],
        [101, 10, "普一甲", "T001"],
        ["102", 1.0, None, None],
        ["101", "一", "普一乙", "T002"],
        ["103", 4, "普四甲", "T999"],
        ["", "", "", ""],
    ]
    table = read_table(sheets.xlsx(rows), "c.xlsx")
    result = parse_classes(table, known_staff_nos={"T001", "T002"})
    assert [(r.class_code, r.grade, r.name, r.homeroom_staff_no) for r in result.rows] == [
        ("101", 1, "普一甲", "T001"),
        ("102", 1, None, None),
    ]
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (4, "班級代碼", "duplicate_class_code"),
        (5, "導師", "unknown_staff"),
        (5, "年級", "grade_invalid"),
    ]
