"""The kit's spreadsheet reading, column and row helpers, grades and template workbooks.

The services' import tests cover these through their own files; these pin the generic behaviour.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import openpyxl
import pytest

from licheng.contracts.schools import GRADE_HINT, GRADES, parse_grade
from licheng.kit.errors import BadRequest, InvalidRows, PayloadTooLarge
from licheng.kit.tabular import (
    EMAIL,
    MAX_COLUMNS,
    MAX_ROWS,
    TEMPLATE_USAGE,
    Column,
    FirstSeen,
    ParseResult,
    RowError,
    Sheet,
    Table,
    TableRow,
    check_workbook,
    clean_text,
    decode_csv,
    header_key,
    header_name,
    in_worker,
    normalise_cell,
    read_table,
    template_workbook,
)
from licheng.testing.workbooks import zip_bomb_xlsx

CODE = Column("代碼", aliases=("編號",), max_length=4)
NAME = Column("名稱")
NOTE = Column("備註", required=False)
GRADE = Column("開課年級", aliases=("年級",))
COLUMNS = (CODE, NAME, NOTE)


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    name: str
    note: str | None
    row: int


def csv_bytes(rows: Sequence[Sequence[object]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]], title: str = "資料") -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table(header: Sequence[str], *rows: Sequence[str | None]) -> Table:
    return Table(
        sheet="s.csv",
        header=tuple(header),
        rows=tuple(TableRow(i, tuple(cells)) for i, cells in enumerate(rows, start=2)),
    )


def parse_items(source: Table) -> ParseResult[Item]:
    sheet = Sheet(source, COLUMNS)
    codes = FirstSeen()
    items: list[Item] = []
    for reader in sheet.rows():
        code = reader.text(CODE, identifier=True)
        name = reader.text(NAME)
        note = reader.text(NOTE)
        if code is not None and (first := codes.earlier(code, reader.row)):
            reader.error(CODE, "duplicate_code", f"代碼與第 {first} 列重複")
        if reader.failed or code is None or name is None:
            continue
        items.append(Item(code, name, note, reader.row))
    return sheet.result(items)


# --- reading files -----------------------------------------------------------------------------


def test_cells_are_normalised() -> None:
    assert normalise_cell(None) is None
    assert normalise_cell(datetime(2026, 5, 1, 8, 30)) == date(2026, 5, 1)
    assert normalise_cell(date(2026, 5, 1)) == date(2026, 5, 1)
    assert normalise_cell(True) == "TRUE"
    assert normalise_cell(110001) == "110001"
    assert normalise_cell(12.0) == "12"
    assert normalise_cell(1.5) == "1.5"
    assert normalise_cell("\u3000 王 \ufeff\u200b") == "王"
    assert normalise_cell(" \xa0") is None
    assert clean_text("\ufeff代碼\u3000") == "代碼"
    assert (header_name(None), header_name(date(2026, 1, 2)), header_name("x")) == (
        "",
        "2026-01-02",
        "x",
    )


def test_xlsx_and_csv_read_the_same_table() -> None:
    rows: list[Sequence[object]] = [["代碼", "名稱", None], ["001", "甲"], [], [2, "乙", "x"]]
    from_xlsx = read_table(xlsx_bytes(rows), "upload/Items.XLSX")
    from_csv = read_table(csv_bytes(rows, "cp950"), "C:\\files\\items.csv")
    assert from_xlsx.sheet == "資料"
    assert from_csv.sheet == "items.csv"
    assert from_xlsx.header == from_csv.header == ("代碼", "名稱")
    expected = (TableRow(2, ("001", "甲")), TableRow(4, ("2", "乙")))
    assert from_xlsx.rows == from_csv.rows == expected


def test_tab_separated_utf16_text_is_read() -> None:
    data = "代碼\t名稱\r\n1\t甲\r\n".encode("utf-16")
    assert read_table(data, "items.txt").rows == (TableRow(2, ("1", "甲")),)


def test_decode_csv_encodings() -> None:
    assert decode_csv("代碼,名稱".encode()) == "代碼,名稱"
    assert decode_csv("代碼,名稱".encode("utf-8-sig")) == "代碼,名稱"
    assert decode_csv("代碼,陳冠廷".encode("cp950")) == "代碼,陳冠廷"
    assert decode_csv("代碼,王堃峯".encode("big5hkscs")) == "代碼,王堃峯"


def test_max_rows_is_the_default_limit_and_can_be_raised_or_lowered() -> None:
    data = csv_bytes([["代碼"], *([str(i)] for i in range(MAX_ROWS + 1))])
    with pytest.raises(BadRequest) as refused:
        read_table(data, "big.csv")
    assert refused.value.error_code == "too_many_rows"
    assert len(read_table(data, "big.csv", max_rows=MAX_ROWS + 1).rows) == MAX_ROWS + 1
    with pytest.raises(BadRequest):
        read_table(csv_bytes([["代碼"], ["1"], ["2"]]), "s.csv", max_rows=1)


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"", "a.csv"),
        (b"PK\x03\x04 broken", "a.xlsx"),
        (b"not a zip", "a.xlsx"),
        (b"\xd0\xcf\x11\xe0", "a.xls"),
        (b"abc", "a.pdf"),
        (b"abc", "no-suffix"),
        (b"\xff\xfe\x00", "a.csv"),
    ],
)
def test_unreadable_files_are_a_bad_request(data: bytes, filename: str) -> None:
    with pytest.raises(BadRequest) as refused:
        read_table(data, filename)
    assert refused.value.error_code == "file_unreadable"


# --- columns, rows and results -----------------------------------------------------------------


def test_headers_match_by_nfkc_without_spaces_and_case_folded() -> None:
    assert header_key(" Ｅ - Mail\u3000") == header_key("e-mail") == "e-mail"
    assert EMAIL.find(["姓名", "E-mail"]) == [1]
    assert CODE.find(["編號", "代碼"]) == [1]  # its own name wins over an alias
    assert CODE.find(["編號", "x", "編 號"]) == [0, 2]
    assert NAME.find(["代碼"]) == []


def test_rows_are_read_and_every_problem_is_collected_sorted() -> None:
    result = parse_items(
        table(
            ["編號", "名稱", "備註"],
            ["００１", "甲", None],
            ["001", None, "x"],
            ["12345", "乙", None],
            [" 2 ", "丙", "附註"],
        )
    )
    assert result.rows == [Item("001", "甲", None, 2), Item("2", "丙", "附註", 5)]
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (3, "名稱", "required"),
        (3, "編號", "duplicate_code"),
        (4, "編號", "too_long"),
    ]
    assert not result.ok
    assert all(e.sheet == "s.csv" for e in result.errors)
    assert "12345" not in str(result.errors)


def test_missing_and_repeated_columns_are_reported_on_row_one() -> None:
    result = parse_items(table(["代碼", "代碼", "備註"], ["1", "1", None]))
    assert result.rows == []
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (1, "代碼", "duplicate_column"),
        (1, "名稱", "missing_column"),
    ]


def test_emails_are_lower_cased_and_checked() -> None:
    sheet = Sheet(table(["電子郵件"], ["A@Example.EDU.tw"], ["no-at"], [None]), [EMAIL])
    assert [reader.email() for reader in sheet.rows()] == ["a@example.edu.tw", None, None]
    assert [(e.row, e.column, e.code) for e in sheet.errors] == [(3, "電子郵件", "email_invalid")]


def test_first_seen_remembers_the_first_row() -> None:
    seen = FirstSeen()
    assert seen.earlier("a", 2) is None
    assert seen.earlier("a", 2) is None
    assert seen.earlier("b", 3) is None
    assert seen.earlier("a", 4) == 2


def test_parse_results_raise_invalid_rows_with_every_error() -> None:
    error = RowError("s", 2, "代碼", "required", "「代碼」不可空白")
    assert ParseResult(rows=[1], errors=[]).ok
    ParseResult(rows=[1], errors=[]).raise_for_errors()
    failed: ParseResult[int] = ParseResult(rows=[], errors=[error])
    with pytest.raises(InvalidRows) as invalid:
        failed.raise_for_errors()
    assert invalid.value.detail == [
        {
            "sheet": "s",
            "row": 2,
            "column": "代碼",
            "code": "required",
            "message": "「代碼」不可空白",
        }
    ]


# --- coded cells (年級 as the example) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), ("三", 3), ("10", 1), ("12", 3), ("高二", 2), ("3年級", 3), ("4", None),
     ("高四", None), ("", None)],
)  # fmt: skip
def test_grade_forms(text: str, expected: int | None) -> None:
    assert parse_grade(text) == expected
    assert set(GRADES.values()) == {1, 2, 3}


def test_a_coded_cell_names_the_column_not_the_alias() -> None:
    sheet = Sheet(table(["年級"], ["２"], ["4"], [None]), [GRADE])
    read = [
        reader.coded(GRADE, parse_grade, code="grade_invalid", hint=GRADE_HINT)
        for reader in sheet.rows()
    ]
    assert read == [2, None, None]
    assert [(e.row, e.column, e.code) for e in sheet.errors] == [
        (3, "年級", "grade_invalid"),
        (4, "年級", "required"),
    ]
    assert sheet.errors[0].message.startswith("開課年級必須是 1、2、3")


# --- templates ---------------------------------------------------------------------------------


def test_template_workbook_layout_and_round_trip() -> None:
    notes = {
        "代碼": ("是", "以文字輸入", "001"),
        "名稱": ("是", "名稱", "甲"),
        "備註": ("否", "可留空", "無"),
    }
    data = template_workbook(
        "項目",
        COLUMNS,
        notes,
        {"代碼"},
        {"備註": ("有", "無")},
        usage=TEMPLATE_USAGE + "另加說明。",
        column_width=14,
        column_widths={"名稱": 30},
        required_width=12,
    )
    empty = read_table(data, "項目.xlsx")
    assert (empty.sheet, empty.header, empty.rows) == ("項目", ("代碼", "名稱", "備註"), ())

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["項目", "說明"]
    sheet, notes_sheet = workbook.worksheets
    assert sheet.freeze_panes == "A2"
    assert [sheet.column_dimensions[c].width for c in "ABC"] == [14, 30, 14]
    assert sheet.column_dimensions["A"].number_format == "@"
    [validation] = sheet.data_validations.dataValidation
    assert (validation.formula1, str(validation.sqref)) == ('"有,無"', "C2:C5000")
    lines = [[cell.value for cell in row] for row in notes_sheet.iter_rows()]
    assert lines[0] == ["欄位", "必填", "說明", "範例（僅供參考，請勿匯入）"]
    assert lines[1:4] == [[name, *notes[name]] for name in ("代碼", "名稱", "備註")]
    assert lines[-1][0] == TEMPLATE_USAGE + "另加說明。"
    assert notes_sheet.column_dimensions["B"].width == 12

    sheet.append(["001", "甲", "有"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = parse_items(read_table(buffer.getvalue(), "項目.xlsx"))
    assert (result.rows, result.errors) == ([Item("001", "甲", "有", 2)], [])


def test_template_workbook_defaults() -> None:
    data = template_workbook("表", [NAME], {"名稱": ("是", "名稱", "甲")})
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet, notes_sheet = workbook.worksheets
    assert sheet.column_dimensions["A"].width == 16
    assert sheet.data_validations.dataValidation == []
    assert notes_sheet.column_dimensions["B"].width == 8
    assert notes_sheet.cell(row=4, column=1).value == TEMPLATE_USAGE


# --- hostile workbooks -------------------------------------------------------------------------


def test_a_zip_bomb_is_refused_before_it_is_opened() -> None:
    bomb = zip_bomb_xlsx(["代碼"], [["甲"]], inflated_mib=300, member="xl/sharedStrings.xml")
    assert len(bomb) < 2 * 1024 * 1024  # small on the wire
    with pytest.raises(PayloadTooLarge) as refused:
        read_table(bomb, "roster.xlsx")
    assert refused.value.status_code == 413
    assert refused.value.error_code == "workbook_too_large"
    assert "解壓縮後過大" in refused.value.message


def test_a_member_inflating_at_a_bomb_ratio_is_refused_even_under_the_size_caps() -> None:
    bomb = zip_bomb_xlsx(["代碼"], [["甲"]], inflated_mib=20, member="xl/sharedStrings.xml")
    with pytest.raises(BadRequest) as refused:
        check_workbook(bomb)
    assert refused.value.error_code == "workbook_suspicious"
    assert "壓縮" in refused.value.message


def test_an_ordinary_large_workbook_passes_the_guard() -> None:
    rows: list[list[object]] = [[f"{110000 + n}", f"學生{n}", "101", n % 40] for n in range(20_000)]
    data = xlsx_bytes([["學號", "姓名", "班級", "座號"], *rows])
    check_workbook(data)
    assert len(read_table(data, "students.xlsx").rows) == 20_000


def test_too_many_columns_are_refused() -> None:
    data = csv_bytes([[f"欄{n}" for n in range(MAX_COLUMNS + 1)], ["1"] * (MAX_COLUMNS + 1)])
    with pytest.raises(BadRequest) as refused:
        read_table(data, "wide.csv")
    assert refused.value.error_code == "too_many_columns"


async def test_parsing_in_a_worker_leaves_the_event_loop_free() -> None:
    data = csv_bytes([["代碼"], *([str(i)] for i in range(MAX_ROWS))])
    ticks = 0
    parse = asyncio.create_task(in_worker(read_table, data, "big.csv"))
    while not parse.done():
        ticks += 1  # the loop keeps turning while the parse runs in its thread
        await asyncio.sleep(0.001)
    assert len((await parse).rows) == MAX_ROWS
    assert ticks > 1
