"""Import files: reading xlsx/CSV (Big5 too) and validating students, staff and classes rows."""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from licheng.identity.imports import (
    ClassRow,
    EnrolmentStatus,
    ImportKind,
    ParseResult,
    RowError,
    StaffRow,
    StudentRow,
    Table,
    decode_csv,
    parse_classes,
    parse_staff,
    parse_students,
    read_table,
    template_columns,
    template_xlsx,
)
from licheng.kit.errors import BadRequest, InvalidRows
from licheng.kit.tabular import MAX_ROWS

TODAY = date(2026, 5, 1)
HEADER = ["學號", "姓名", "班級", "座號", "身分證號", "出生日期", "在籍狀態"]
CLASSES = {f"{grade}{n:02d}" for grade in (1, 2, 3) for n in range(1, 18)}

# An independent formulation of the check: a letter's code is its index here plus ten.
_ID_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def make_id(letter: str, second: str, body: str) -> str:
    """A valid ID: `second` is 1/2 (citizen), 8/9 (new resident) or A–D (old resident)."""
    code = _ID_LETTERS.index(letter) + 10
    n1 = (_ID_LETTERS.index(second) + 10) % 10 if second.isalpha() else int(second)
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
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]], title: str = "學生名單") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def students_csv(rows: list[list[str]], known: set[str] | None = None) -> list[RowError]:
    table = read_table(csv_bytes([HEADER, *rows]), "students.csv")
    return parse_students(table, known_class_codes=known, today=TODAY).errors


A_ID = make_id("A", "1", "2345678")  # A123456789
B_ID = make_id("F", "2", "0000011")
C_ID = make_id("Q", "1", "9876543")


# --- reading files -----------------------------------------------------------------------------


def test_the_check_digit_helper_agrees_with_the_textbook_example() -> None:
    assert A_ID == "A123456789"


def test_two_thousand_students_from_xlsx_parse_without_errors(tmp_path: Path) -> None:
    rng = random.Random(20260501)
    surnames = "王林陳張李黃吳劉蔡楊許鄭謝郭洪"
    given = ["小明", "怡君", "冠廷", "淑芬", "家豪", "雅婷"]
    ids: set[str] = set()
    while len(ids) < 2000:
        ids.add(make_id(rng.choice(_ID_LETTERS), rng.choice("12"), f"{rng.randrange(10**7):07d}"))
    rows: list[Sequence[object]] = [["座號", "備註", *HEADER[:3], *HEADER[4:], "電子郵件"]]
    for i, national_id in enumerate(sorted(ids)):
        born = datetime(2008 + i % 3, 1 + i % 12, 1 + i % 28)
        name = rng.choice(surnames) + rng.choice(given)
        class_code = sorted(CLASSES)[i % len(CLASSES)]
        email = f"s{110000 + i}@example.edu.tw" if i % 2 else None
        seat_no = 1 + i // 51
        rows.append([seat_no, None, 110000 + i, name, class_code, national_id, born, "在籍", email])
    path = tmp_path / "students.xlsx"
    path.write_bytes(xlsx_bytes(rows))

    table = read_table(path.read_bytes(), path.name)
    result = parse_students(table, known_class_codes=CLASSES, today=TODAY)

    assert result.errors == []
    assert result.ok
    assert len(result.rows) == 2000
    first = result.rows[0]
    assert (first.student_no, first.seat_no, first.row) == ("110000", 1, 2)
    assert first.national_id == sorted(ids)[0]
    assert first.birth_date == date(2008, 1, 1)
    assert first.status is EnrolmentStatus.ENROLLED
    assert first.email is None
    assert result.rows[1].email == "s110001@example.edu.tw"
    assert table.sheet == "學生名單"


def test_big5_csv_names_decode() -> None:
    # 許功蓋 have 0x5C ("\\") as their second byte; 碁 is one of CP950's additions to Big5.
    names = ["王小明", "林怡君", "陳冠廷", "許功蓋", "林碁祐"]
    rows = [HEADER] + [
        student(f"11000{i}", make_id("A", "2", f"000000{i}"), 姓名=name)
        for i, name in enumerate(names)
    ]
    data = csv_bytes(rows, "cp950")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    result = parse_students(read_table(data, "學生.csv"), known_class_codes=None, today=TODAY)

    assert result.errors == []
    assert [row.name for row in result.rows] == names


def test_hkscs_characters_outside_cp950_fall_back_to_big5hkscs() -> None:
    # 堃 and 峯 are not in CP950 (nor Big5); HKSCS has them, in CP950's user-defined area.
    with pytest.raises(UnicodeEncodeError):
        "堃".encode("cp950")
    data = csv_bytes([HEADER, student("1", A_ID, 姓名="王堃峯")], "big5hkscs")
    assert decode_csv(data).splitlines()[1].split(",")[1] == "王堃峯"


def test_utf8_bom_csv_with_spaced_headers_in_another_order() -> None:
    header = ["\u3000在籍狀態", " 身分證號 ", "出生日期", "座號", "班級", "姓名", "學號"]
    header += ["電子郵件", "其他"]
    line = ["在籍", A_ID, "2009/3/4", "07", "101", "林怡君", "0110001", "Lin@Example.edu.tw", "x"]
    data = csv_bytes([header, line], "utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")

    table = read_table(data, "students.csv")
    result = parse_students(table, known_class_codes={"101"}, today=TODAY)

    assert result.errors == []
    (row,) = result.rows
    assert (row.student_no, row.name, row.seat_no) == ("0110001", "林怡君", 7)
    assert row.email == "lin@example.edu.tw"
    assert table.sheet == "students.csv"


def test_xlsx_numbers_and_date_cells_are_normalised() -> None:
    ids = [make_id("B", "1", f"111111{i}") for i in range(5)]
    rows: list[Sequence[object]] = [
        HEADER,
        [110001, "王小明", 101, 5.0, ids[0], datetime(2008, 5, 1), "在籍"],
        ["0110002", "林怡君", "101", 6, ids[1], 950101, "休學"],
        [110003.0, "陳冠廷", 102.0, "7", ids[2].lower(), 1050101, "轉出"],
        [110004, "張家豪", "102", 8, ids[3], "097/05/01", "畢業"],
        [110005, "李雅婷", "102", 9, ids[4], date(2007, 12, 31), " 在籍 "],
    ]
    table = read_table(xlsx_bytes(rows), "upload.XLSX")
    result = parse_students(table, known_class_codes={"101", "102"}, today=TODAY)

    assert result.errors == []
    got = [(r.student_no, r.class_code, r.seat_no, r.birth_date, r.row) for r in result.rows]
    assert got == [
        ("110001", "101", 5, date(2008, 5, 1), 2),
        ("0110002", "101", 6, date(2006, 1, 1), 3),
        ("110003", "102", 7, date(2016, 1, 1), 4),
        ("110004", "102", 8, date(2008, 5, 1), 5),
        ("110005", "102", 9, date(2007, 12, 31), 6),
    ]
    assert result.rows[2].national_id == ids[2]
    assert [r.status for r in result.rows] == [*EnrolmentStatus, EnrolmentStatus.ENROLLED]


def test_blank_rows_are_skipped_but_rows_keep_their_spreadsheet_numbers() -> None:
    rows: list[Sequence[object]] = [HEADER, student("1", A_ID), [], [None] * 7, student("2", B_ID)]
    result = parse_students(
        read_table(xlsx_bytes(rows), "a.xlsx"), known_class_codes=None, today=TODAY
    )
    assert [row.row for row in result.rows] == [2, 5]


def _truncated_xlsx() -> bytes:
    data = xlsx_bytes([HEADER, student("1", A_ID)])
    return data[: len(data) // 2]


def _zip_without_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"this is not a workbook", "students.xlsx"),
        (_truncated_xlsx(), "students.xlsx"),
        (_zip_without_workbook(), "students.xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "students.xls"),
        (b"%PDF-1.7", "students.pdf"),
        (b"\x80\x80,\xff\xff\r\n", "students.csv"),
        (b"", "students.csv"),
        (b"a,b\x00c\r\n", "students.csv"),
        (b"no extension", "students"),
    ],
)
def test_unreadable_files_are_a_bad_request(data: bytes, filename: str) -> None:
    with pytest.raises(BadRequest) as raised:
        read_table(data, filename)
    assert raised.value.error_code == "file_unreadable"
    assert raised.value.status_code == 400
    assert raised.value.message


def test_utf16_tab_separated_text_is_read() -> None:
    text = "\t".join(HEADER) + "\r\n" + "\t".join(student("1", A_ID)) + "\r\n"
    table = read_table(text.encode("utf-16"), "excel-unicode.txt")
    assert parse_students(table, known_class_codes=None, today=TODAY).errors == []


def test_a_wrong_dimension_tag_does_not_hide_cells() -> None:
    # Some exporters write <dimension ref="A1"/> whatever the sheet holds.
    source = io.BytesIO(xlsx_bytes([HEADER, student("1", A_ID), student("2", B_ID)]))
    target = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            content = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1"/>', content)
                assert b'<dimension ref="A1"/>' in content
            new.writestr(item, content)
    table = read_table(target.getvalue(), "a.xlsx")
    result = parse_students(table, known_class_codes=None, today=TODAY)
    assert result.errors == []
    assert len(result.rows) == 2


def test_decode_csv_encodings() -> None:
    assert decode_csv("學號,姓名".encode()) == "學號,姓名"
    assert decode_csv("學號,姓名".encode("utf-8-sig")) == "學號,姓名"
    assert decode_csv("學號,陳冠廷".encode("cp950")) == "學號,陳冠廷"
    assert decode_csv("學號,陳冠廷".encode("utf-16")) == "學號,陳冠廷"


def test_files_with_too_many_rows_are_refused() -> None:
    rows = [HEADER] + [student(str(i), A_ID) for i in range(MAX_ROWS + 1)]
    with pytest.raises(BadRequest) as raised:
        read_table(csv_bytes(rows), "huge.csv")
    assert raised.value.error_code == "too_many_rows"


# --- students rows -----------------------------------------------------------------------------


def test_one_bad_checksum_is_one_error_that_never_shows_the_id() -> None:
    bad = break_checksum(B_ID)
    errors = students_csv([student("1", A_ID), student("2", bad), student("3", C_ID)])

    assert len(errors) == 1
    error = errors[0]
    assert (error.row, error.column, error.code) == (3, "身分證號", "national_id_checksum")
    assert error.message == "身分證號檢查碼不正確"
    assert error.sheet == "students.csv"
    assert bad not in repr(error)
    assert all(bad.lower() not in str(value).lower() for value in asdict(error).values())


def test_format_and_checksum_problems_are_told_apart() -> None:
    errors = students_csv(
        [
            student("1", "A12345678"),
            student("2", "AZ23456789"),
            student("3", break_checksum(A_ID)),
            student("4", make_id("A", "8", "0000001")),  # A800000014, 新式統一證號
            student("5", make_id("F", "A", "1234568")),  # FA12345689, 舊式統一證號
            student("6", "ａ１２３４５６７８９"),  # full-width, lower case: the same as A123456789
        ]
    )
    assert [(e.row, e.code, e.message) for e in errors] == [
        (2, "national_id_format", "身分證號格式不正確"),
        (3, "national_id_format", "身分證號格式不正確"),
        (4, "national_id_checksum", "身分證號檢查碼不正確"),
    ]


def test_resident_certificate_numbers_are_accepted() -> None:
    new_style, old_style = make_id("A", "8", "0000001"), make_id("F", "A", "1234568")
    assert (new_style, old_style) == ("A800000014", "FA12345689")
    data = csv_bytes([HEADER, student("1", new_style), student("2", old_style)])
    table = read_table(data, "a.csv")
    result = parse_students(table, known_class_codes=None, today=TODAY)
    assert result.errors == []
    assert [row.national_id for row in result.rows] == [new_style, old_style]


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
def test_birth_date_forms(text: str, expected: date) -> None:
    table = read_table(csv_bytes([HEADER, student("1", A_ID, 出生日期=text)]), "a.csv")
    result = parse_students(table, known_class_codes=None, today=TODAY)
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
def test_bad_birth_dates(text: str, code: str) -> None:
    (error,) = students_csv([student("1", A_ID, 出生日期=text)])
    assert (error.row, error.column, error.code) == (2, "出生日期", code)
    assert text not in error.message


def test_duplicate_student_no_is_reported_on_each_later_row() -> None:
    errors = students_csv([student("7", A_ID), student("7", B_ID), student("7", C_ID)])
    assert [(e.row, e.column, e.code) for e in errors] == [
        (3, "學號", "duplicate_student_no"),
        (4, "學號", "duplicate_student_no"),
    ]
    assert errors[0].message == "學號與第 2 列重複"


def test_the_same_national_id_under_two_student_numbers() -> None:
    errors = students_csv([student("1", A_ID), student("2", B_ID), student("3", A_ID)])
    assert [(e.row, e.column, e.code) for e in errors] == [(4, "身分證號", "duplicate_national_id")]
    assert A_ID not in errors[0].message


def test_unknown_class_only_when_classes_are_known() -> None:
    rows = [student("1", A_ID, 班級="101"), student("2", B_ID, 班級="999")]
    assert students_csv(rows) == []
    (error,) = students_csv(rows, known={"101"})
    assert (error.row, error.column, error.code) == (3, "班級", "unknown_class")


def test_a_missing_column_is_one_error_on_row_one() -> None:
    keep = [i for i, column in enumerate(HEADER) if column != "座號"]
    rows = [student("1", A_ID), student("2", break_checksum(B_ID)), student("3", C_ID)]
    table = read_table(csv_bytes([[r[i] for i in keep] for r in [HEADER, *rows]]), "a.csv")
    result = parse_students(table, known_class_codes=None, today=TODAY)
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (1, "座號", "missing_column"),
        (3, "身分證號", "national_id_checksum"),  # the other columns are still checked
    ]
    assert result.errors[0].message == "缺少必要欄位「座號」"
    assert result.rows == []  # but no row is complete without 座號


def test_a_header_named_twice_is_reported() -> None:
    table = read_table(csv_bytes([[*HEADER, "學號"], [*student("1", A_ID), "2"]]), "a.csv")
    errors = parse_students(table, known_class_codes=None, today=TODAY).errors
    assert [(e.row, e.column, e.code) for e in errors] == [(1, "學號", "duplicate_column")]


def test_a_column_name_wins_over_an_alias() -> None:
    # Exports may carry both 班級 (the code) and 班級代碼; 班級 is the students file's column.
    header = [*HEADER, "班級代碼", "統一證號"]
    table = read_table(csv_bytes([header, [*student("1", A_ID), "普一甲", "X"]]), "a.csv")
    result = parse_students(table, known_class_codes={"101"}, today=TODAY)
    assert result.errors == []
    assert result.rows[0].class_code == "101"


def test_every_problem_is_collected_and_sorted_by_row_then_column() -> None:
    bad_row = ["", "", "", "0", "X12", "0970230", "退學"]
    errors = students_csv([student("1", A_ID), bad_row, student("2", B_ID)])
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


def test_seat_numbers_and_emails_are_checked() -> None:
    header = [*HEADER, "email"]
    rows = [
        [*student("1", A_ID, 座號="-3"), "a@example.edu.tw"],
        [*student("2", B_ID, 座號="5.5"), "not-an-email"],
        [*student("3", C_ID), "A@example.edu.tw"],
    ]
    table = read_table(csv_bytes([header, *rows]), "a.csv")
    errors = parse_students(table, known_class_codes=None, today=TODAY).errors
    assert [(e.row, e.column, e.code) for e in errors] == [
        (2, "座號", "seat_no_invalid"),
        (3, "email", "email_invalid"),
        (3, "座號", "seat_no_invalid"),
        (4, "email", "duplicate_email"),
    ]


def test_errors_become_an_invalid_rows_error_without_personal_data() -> None:
    bad_id = break_checksum(A_ID)
    table = read_table(csv_bytes([HEADER, student("1", bad_id, 出生日期="0970230")]), "a.csv")
    result = parse_students(table, known_class_codes=None, today=TODAY)
    assert not result.ok
    with pytest.raises(InvalidRows) as raised:
        result.raise_for_errors()
    body = raised.value.body()
    assert body["error"] == "invalid_rows"
    assert [item["code"] for item in body["detail"]] == ["date_invalid", "national_id_checksum"]
    assert set(body["detail"][0]) == {"sheet", "row", "column", "code", "message"}
    assert bad_id not in repr(body)
    assert "0970230" not in repr(body)


# --- staff and classes -------------------------------------------------------------------------


def test_staff_with_the_chinese_email_header() -> None:
    rows: list[Sequence[object]] = [
        ["姓名", "教師編號", "電子郵件"],
        ["林老師", "T001", "lin@example.edu.tw"],
        ["陳老師", 2, ""],
        ["張老師", "T001", "chang@@example"],
        ["", "T004", "lin@example.edu.tw"],
    ]
    result = parse_staff(read_table(xlsx_bytes(rows, "教職員"), "staff.xlsx"))
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


@pytest.mark.parametrize(
    ("grade", "expected"),
    [("1", 1), ("2", 2), ("3", 3), ("一", 1), ("二", 2), ("三", 3), ("10", 1), ("11", 2),
     ("12", 3), ("高三", 3), ("２", 2)],
)  # fmt: skip
def test_grade_forms(grade: str, expected: int) -> None:
    table = read_table(csv_bytes([["班級代碼", "年級"], ["101", grade]]), "classes.csv")
    result = parse_classes(table, known_staff_nos=None)
    assert result.errors == []
    assert result.rows[0].grade == expected


def test_classes_are_checked() -> None:
    rows: list[Sequence[object]] = [
        ["班級代碼", "年級", "班級名稱", "導師"],
        [101, 10, "普一甲", "T001"],
        ["102", 1.0, None, None],
        ["101", "一", "普一乙", "T002"],
        ["103", 4, "普四甲", "T999"],
        ["", "", "", ""],
    ]
    result = parse_classes(read_table(xlsx_bytes(rows), "c.xlsx"), known_staff_nos={"T001", "T002"})
    assert [(r.class_code, r.grade, r.name, r.homeroom_staff_no) for r in result.rows] == [
        ("101", 1, "普一甲", "T001"),
        ("102", 1, None, None),
    ]
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (4, "班級代碼", "duplicate_class_code"),
        (5, "導師", "unknown_staff"),
        (5, "年級", "grade_invalid"),
    ]


# --- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ImportKind))
def test_templates_round_trip(kind: ImportKind, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}.xlsx"
    path.write_bytes(template_xlsx(kind))
    table = read_table(path.read_bytes(), path.name)
    assert table.header == template_columns(kind)
    assert table.rows == ()
    assert _parse(kind, table).errors == []
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames[1] == "說明"

    filled = {
        ImportKind.STUDENTS: [*student("0110001", A_ID), "s@example.edu.tw"],
        ImportKind.STAFF: ["T001", "林老師", "t@example.edu.tw"],
        ImportKind.CLASSES: ["101", "1", "普一甲", "T001"],
    }[kind]
    workbook.worksheets[0].append(filled)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = _parse(kind, read_table(buffer.getvalue(), path.name))
    assert result.errors == []
    assert len(result.rows) == 1


def _parse(
    kind: ImportKind, table: Table
) -> ParseResult[StudentRow] | ParseResult[StaffRow] | ParseResult[ClassRow]:
    if kind is ImportKind.STUDENTS:
        return parse_students(table, known_class_codes=None, today=TODAY)
    if kind is ImportKind.STAFF:
        return parse_staff(table)
    return parse_classes(table, known_staff_nos=None)
