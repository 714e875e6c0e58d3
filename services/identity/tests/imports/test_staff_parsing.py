"""The staff file: 教師編號, 姓名 and 電子郵件, each number and address unique."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from licheng.identity.imports import parse_staff, read_table


def test_staff_with_the_chinese_email_header(sheets: Any) -> None:
    rows: list[Sequence[object]] = [
        ["姓名", "教師編號", "電子郵件"],
        ["林老師", "T001", "lin@example.edu.tw"],
        ["陳老師", 2, ""],
        ["張老師", "T001", "chang@@example"],
        ["", "T004", "lin@example.edu.tw"],
    ]
    result = parse_staff(read_table(sheets.xlsx(rows, "教職員"), "staff.xlsx"))
    assert [(r.staff_no, r.name, r.email, r.row) for r in result.rows] == [
        ("T001", "林老師", "lin@example.edu.tw", 2),
        ("2", "陳老師", None, 3),
    ]
    assert [(e.sheet, e.row, e.column, e.code) for e in result.errors] == [
        ("教職員", 4, "教師編號", "duplicate_staff_no"),
        ("教職員", 4, "電子郵件", "email_invalid"),
        ("教職員", 5, "姓名", "required"),
        ("教職員", 5, "電子郵件", "duplicate_email"),
    ]
