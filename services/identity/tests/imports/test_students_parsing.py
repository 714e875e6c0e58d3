"""The students file's rows: duplicates, unknown classes, missing or repeated columns, and every
problem reported at once without personal data."""

from __future__ import annotations

from typing import Any

import pytest

from licheng.identity.imports import parse_students, read_table
from licheng.kit.errors import InvalidRows


def test_duplicate_student_no_is_reported_on_each_later_row(sheets: Any, national_ids: Any) -> None:
    errors = sheets.errors(
        [
            sheets.student("7", national_ids.A),
            sheets.student("7", national_ids.B),
            sheets.student("7", national_ids.C),
        ]
    )
    assert [(e.row, e.column, e.code) for e in errors] == [
        (3, "學號", "duplicate_student_no"),
        (4, "學號", "duplicate_student_no"),
    ]
    assert errors[0].message == "學號與第 2 列重複"


def test_the_same_national_id_under_two_student_numbers(sheets: Any, national_ids: Any) -> None:
    errors = sheets.errors(
        [
            sheets.student("1", national_ids.A),
            sheets.student("2", national_ids.B),
            sheets.student("3", national_ids.A),
        ]
    )
    assert [(e.row, e.column, e.code) for e in errors] == [(4, "身分證號", "duplicate_national_id")]
    assert national_ids.A not in errors[0].message


def test_unknown_class_only_when_classes_are_known(sheets: Any, national_ids: Any) -> None:
    rows = [
        sheets.student("1", national_ids.A, 班級="101"),
        sheets.student("2", national_ids.B, 班級="999"),
    ]
    assert sheets.errors(rows) == []
    (error,) = sheets.errors(rows, known={"101"})
    assert (error.row, error.column, error.code) == (3, "班級", "unknown_class")


def test_a_missing_column_is_one_error_on_row_one(sheets: Any, national_ids: Any) -> None:
    keep = [i for i, column in enumerate(sheets.HEADER) if column != "座號"]
    rows = [
        sheets.student("1", national_ids.A),
        sheets.student("2", national_ids.break_checksum(national_ids.B)),
        sheets.student("3", national_ids.C),
    ]
    table = read_table(sheets.csv([[r[i] for i in keep] for r in [sheets.HEADER, *rows]]), "a.csv")
    result = parse_students(table, known_class_codes=None, today=sheets.TODAY)
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (1, "座號", "missing_column"),
        (3, "身分證號", "national_id_checksum"),  # the other columns are still checked
    ]
    assert result.errors[0].message == "缺少必要欄位「座號」"
    assert result.rows == []  # but no row is complete without 座號


def test_a_header_named_twice_is_reported(sheets: Any, national_ids: Any) -> None:
    rows = [[*sheets.HEADER, "學號"], [*sheets.student("1", national_ids.A), "2"]]
    table = read_table(sheets.csv(rows), "a.csv")
    errors = parse_students(table, known_class_codes=None, today=sheets.TODAY).errors
    assert [(e.row, e.column, e.code) for e in errors] == [(1, "學號", "duplicate_column")]


def test_a_column_name_wins_over_an_alias(sheets: Any, national_ids: Any) -> None:
    # Exports may carry both 班級 (the code) and 班級代碼; 班級 is the students file's column.
    header = [*sheets.HEADER, "班級代碼", "統一證號"]
    rows = [header, [*sheets.student("1", national_ids.A), "普一甲", "X"]]
    table = read_table(sheets.csv(rows), "a.csv")
    result = parse_students(table, known_class_codes={"101"}, today=sheets.TODAY)
    assert result.errors == []
    assert result.rows[0].class_code == "101"


def test_every_problem_is_collected_and_sorted_by_row_then_column(
    sheets: Any, national_ids: Any
) -> None:
    bad_row = ["", "", "", "0", "X12", "0970230", "退學"]
    errors = sheets.errors(
        [sheets.student("1", national_ids.A), bad_row, sheets.student("2", national_ids.B)]
    )
    assert [(e.row, e.column, e.code) for e in errors] == [
        (3, "出生日期", "date_invalid"),
        (3, "在籍狀態", "status_invalid"),
        (3, "姓名", "required"),
        (3, "學號", "required"),
        (3, "座號", "seat_no_invalid"),
        (3, "班級", "required"),
        (3, "身分證號", "national_id_format"),
    ]
    assert errors == sorted(errors, key=lambda e: (e.row, e.column))
    messages = {e.code: e.message for e in errors}
    assert messages["required"] in {"「姓名」不可空白", "「學號」不可空白", "「班級」不可空白"}
    assert "在籍、休學、轉出、畢業" in messages["status_invalid"]


def test_seat_numbers_and_emails_are_checked(sheets: Any, national_ids: Any) -> None:
    header = [*sheets.HEADER, "email"]
    rows = [
        [*sheets.student("1", national_ids.A, 座號="-3"), "a@example.edu.tw"],
        [*sheets.student("2", national_ids.B, 座號="5.5"), "not-an-email"],
        [*sheets.student("3", national_ids.C), "A@example.edu.tw"],
    ]
    table = read_table(sheets.csv([header, *rows]), "a.csv")
    errors = parse_students(table, known_class_codes=None, today=sheets.TODAY).errors
    assert [(e.row, e.column, e.code) for e in errors] == [
        (2, "座號", "seat_no_invalid"),
        (3, "email", "email_invalid"),
        (3, "座號", "seat_no_invalid"),
        (4, "email", "duplicate_email"),
    ]


def test_errors_become_an_invalid_rows_error_without_personal_data(
    sheets: Any, national_ids: Any
) -> None:
    bad_id = national_ids.break_checksum(national_ids.A)
    rows = [sheets.HEADER, sheets.student("1", bad_id, 出生日期="0970230")]
    table = read_table(sheets.csv(rows), "a.csv")
    result = parse_students(table, known_class_codes=None, today=sheets.TODAY)
    assert not result.ok
    with pytest.raises(InvalidRows) as raised:
        result.raise_for_errors()
    body = raised.value.body()
    assert body["error"] == "invalid_rows"
    assert [item["code"] for item in body["detail"]] == ["date_invalid", "national_id_checksum"]
    assert set(body["detail"][0]) == {"sheet", "row", "column", "code", "message"}
    assert bad_id not in repr(body)
    assert "0970230" not in repr(body)
