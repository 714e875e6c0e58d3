"""Reading import files: xlsx cells, CSV in UTF-8, Big5, HKSCS and UTF-16, and what is refused."""

from __future__ import annotations

import io
import random
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from licheng.identity.imports import EnrolmentStatus, decode_csv, parse_students, read_table
from licheng.kit.errors import BadRequest
from licheng.kit.tabular import MAX_ROWS

CLASSES = {f"{grade}{n:02d}" for grade in (1, 2, 3) for n in range(1, 18)}


def test_two_thousand_students_from_xlsx_parse_without_errors(
    tmp_path: Path, sheets: Any, national_ids: Any
) -> None:
    rng = random.Random(20260501)
    surnames = "王林陳張李黃吳劉蔡楊許鄭謝郭洪"
    given = ["小明", "怡君", "冠廷", "淑芬", "家豪", "雅婷"]
    ids: set[str] = set()
    while len(ids) < 2000:
        ids.add(
            national_ids.make(
                rng.choice(national_ids.LETTERS), rng.choice("12"), f"{rng.randrange(10**7):07d}"
            )
        )
    header = sheets.HEADER
    rows: list[Sequence[object]] = [["座號", "備註", *header[:3], *header[4:], "電子郵件"]]
    for i, national_id in enumerate(sorted(ids)):
        born = datetime(2008 + i % 3, 1 + i % 12, 1 + i % 28)
        name = rng.choice(surnames) + rng.choice(given)
        class_code = sorted(CLASSES)[i % len(CLASSES)]
        email = f"s{110000 + i}@example.edu.tw" if i % 2 else None
        seat_no = 1 + i // 51
        rows.append([seat_no, None, 110000 + i, name, class_code, national_id, born, "在籍", email])
    path = tmp_path / "students.xlsx"
    path.write_bytes(sheets.xlsx(rows))

    table = read_table(path.read_bytes(), path.name)
    result = parse_students(table, known_class_codes=CLASSES, today=sheets.TODAY)

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


def test_big5_csv_names_decode(sheets: Any, national_ids: Any) -> None:
    # 許功蓋 have 0x5C ("\\") as their second byte; 碁 is one of CP950's additions to Big5.
    names = ["王小明", "林怡君", "陳冠廷", "許功蓋", "林碁祐"]
    rows = [sheets.HEADER] + [
        sheets.student(f"11000{i}", national_ids.make("A", "2", f"000000{i}"), 姓名=name)
        for i, name in enumerate(names)
    ]
    data = sheets.csv(rows, "cp950")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    result = parse_students(
        read_table(data, "學生.csv"), known_class_codes=None, today=sheets.TODAY
    )

    assert result.errors == []
    assert [row.name for row in result.rows] == names


def test_hkscs_characters_outside_cp950_fall_back_to_big5hkscs(
    sheets: Any, national_ids: Any
) -> None:
    # 堃 and 峯 are not in CP950 (nor Big5); HKSCS has them, in CP950's user-defined area.
    with pytest.raises(UnicodeEncodeError):
        "堃".encode("cp950")
    data = sheets.csv(
        [sheets.HEADER, sheets.student("1", national_ids.A, 姓名="王堃峯")], "big5hkscs"
    )
    assert decode_csv(data).splitlines()[1].split(",")[1] == "王堃峯"


def test_utf8_bom_csv_with_spaced_headers_in_another_order(sheets: Any, national_ids: Any) -> None:
    header = ["\u3000在籍狀態", " 身分證號 ", "出生日期", "座號", "班級", "姓名", "學號"]
    header += ["電子郵件", "其他"]
    line = ["在籍", national_ids.A, "2009/3/4", "07", "101", "林怡君", "0110001"]
    line += ["Lin@Example.edu.tw", "x"]
    data = sheets.csv([header, line], "utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")

    table = read_table(data, "students.csv")
    result = parse_students(table, known_class_codes={"101"}, today=sheets.TODAY)

    assert result.errors == []
    (row,) = result.rows
    assert (row.student_no, row.name, row.seat_no) == ("0110001", "林怡君", 7)
    assert row.email == "lin@example.edu.tw"
    assert table.sheet == "students.csv"


def test_xlsx_numbers_and_date_cells_are_normalised(sheets: Any, national_ids: Any) -> None:
    ids = [national_ids.make("B", "1", f"111111{i}") for i in range(5)]
    rows: list[Sequence[object]] = [
        sheets.HEADER,
        [110001, "王小明", 101, 5.0, ids[0], datetime(2008, 5, 1), "在籍"],
        ["0110002", "林怡君", "101", 6, ids[1], 950101, "休學"],
        [110003.0, "陳冠廷", 102.0, "7", ids[2].lower(), 1050101, "轉出"],
        [110004, "張家豪", "102", 8, ids[3], "097/05/01", "畢業"],
        [110005, "李雅婷", "102", 9, ids[4], date(2007, 12, 31), " 在籍 "],
    ]
    table = read_table(sheets.xlsx(rows), "upload.XLSX")
    result = parse_students(table, known_class_codes={"101", "102"}, today=sheets.TODAY)

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


def test_blank_rows_are_skipped_but_rows_keep_their_spreadsheet_numbers(
    sheets: Any, national_ids: Any
) -> None:
    rows: list[Sequence[object]] = [
        sheets.HEADER,
        sheets.student("1", national_ids.A),
        [],
        [None] * 7,
        sheets.student("2", national_ids.B),
    ]
    result = parse_students(
        read_table(sheets.xlsx(rows), "a.xlsx"), known_class_codes=None, today=sheets.TODAY
    )
    assert [row.row for row in result.rows] == [2, 5]


def _truncated_xlsx() -> bytes:
    """The first half of a students workbook (one row, the textbook 身分證號 A123456789)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "學生名單"
    sheet.append(["學號", "姓名", "班級", "座號", "身分證號", "出生日期", "在籍狀態"])
    sheet.append(["1", "王小明", "101", "1", "A123456789", "2009-03-04", "在籍"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
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


def test_utf16_tab_separated_text_is_read(sheets: Any, national_ids: Any) -> None:
    text = "\t".join(sheets.HEADER) + "\r\n"
    text += "\t".join(sheets.student("1", national_ids.A)) + "\r\n"
    table = read_table(text.encode("utf-16"), "excel-unicode.txt")
    assert parse_students(table, known_class_codes=None, today=sheets.TODAY).errors == []


def test_a_wrong_dimension_tag_does_not_hide_cells(sheets: Any, national_ids: Any) -> None:
    # Some exporters write <dimension ref="A1"/> whatever the sheet holds.
    rows = [
        sheets.HEADER,
        sheets.student("1", national_ids.A),
        sheets.student("2", national_ids.B),
    ]
    source = io.BytesIO(sheets.xlsx(rows))
    target = io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            content = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1"/>', content)
                assert b'<dimension ref="A1"/>' in content
            new.writestr(item, content)
    table = read_table(target.getvalue(), "a.xlsx")
    result = parse_students(table, known_class_codes=None, today=sheets.TODAY)
    assert result.errors == []
    assert len(result.rows) == 2


def test_decode_csv_encodings() -> None:
    assert decode_csv("學號,姓名".encode()) == "學號,姓名"
    assert decode_csv("學號,姓名".encode("utf-8-sig")) == "學號,姓名"
    assert decode_csv("學號,陳冠廷".encode("cp950")) == "學號,陳冠廷"
    assert decode_csv("學號,陳冠廷".encode("utf-16")) == "學號,陳冠廷"


def test_files_with_too_many_rows_are_refused(sheets: Any, national_ids: Any) -> None:
    rows = [sheets.HEADER] + [sheets.student(str(i), national_ids.A) for i in range(MAX_ROWS + 1)]
    with pytest.raises(BadRequest) as raised:
        read_table(sheets.csv(rows), "huge.csv")
    assert raised.value.error_code == "too_many_rows"
