"""身分證號 and 統一證號 in a students file: shape and check digit, never echoed back."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from licheng.identity.imports import parse_students, read_table


def test_the_check_digit_helper_agrees_with_the_textbook_example(national_ids: Any) -> None:
    assert national_ids.A == "A123456789"


def test_one_bad_checksum_is_one_error_that_never_shows_the_id(
    sheets: Any, national_ids: Any
) -> None:
    bad = national_ids.break_checksum(national_ids.B)
    errors = sheets.errors(
        [
            sheets.student("1", national_ids.A),
            sheets.student("2", bad),
            sheets.student("3", national_ids.C),
        ]
    )

    assert len(errors) == 1
    error = errors[0]
    assert (error.row, error.column, error.code) == (3, "身分證號", "national_id_checksum")
    assert error.message == "身分證號檢查碼不正確"
    assert error.sheet == "students.csv"
    assert bad not in repr(error)
    assert all(bad.lower() not in str(value).lower() for value in asdict(error).values())


def test_format_and_checksum_problems_are_told_apart(sheets: Any, national_ids: Any) -> None:
    errors = sheets.errors(
        [
            sheets.student("1", "A12345678"),
            sheets.student("2", "AZ23456789"),
            sheets.student("3", national_ids.break_checksum(national_ids.A)),
            sheets.student("4", national_ids.make("A", "8", "0000001")),  # A800000014, 新式統一證號
            sheets.student("5", national_ids.make("F", "A", "1234568")),  # FA12345689, 舊式統一證號
            # full-width, lower case: the same as A123456789
            sheets.student("6", "ａ１２３４５６７８９"),
        ]
    )
    assert [(e.row, e.code, e.message) for e in errors] == [
        (2, "national_id_format", "身分證號格式不正確"),
        (3, "national_id_format", "身分證號格式不正確"),
        (4, "national_id_checksum", "身分證號檢查碼不正確"),
    ]


def test_resident_certificate_numbers_are_accepted(sheets: Any, national_ids: Any) -> None:
    new_style = national_ids.make("A", "8", "0000001")
    old_style = national_ids.make("F", "A", "1234568")
    assert (new_style, old_style) == ("A800000014", "FA12345689")
    data = sheets.csv(
        [sheets.HEADER, sheets.student("1", new_style), sheets.student("2", old_style)]
    )
    table = read_table(data, "a.csv")
    result = parse_students(table, known_class_codes=None, today=sheets.TODAY)
    assert result.errors == []
    assert [row.national_id for row in result.rows] == [new_style, old_style]
