"""Reading an uploaded xlsx or CSV file into a plain table of normalised cells."""

from __future__ import annotations

import codecs
import csv
import io
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import openpyxl

from licheng.kit.errors import BadRequest
from licheng.kit.tabular.guard import MAX_COLUMNS, check_workbook

Cell = str | date | None
"""A normalised cell: stripped text (numbers as their digits), a date from a date cell, or None."""

MAX_ROWS = 20_000
"""More data rows than any one school's roster import holds; bigger files are refused, not read."""

_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_CSV_SUFFIXES = (".csv", ".txt")
_ZIP_MAGIC = b"PK\x03\x04"
_STRIP = " \t\r\n\u3000\ufeff\u200b\xa0"
_CSV_ENCODINGS = ("utf-8-sig", "cp950", "big5hkscs")


@dataclass(frozen=True, slots=True)
class TableRow:
    """One non-empty data row; `row` is its 1-based spreadsheet row (the header is row 1)."""

    row: int
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """One sheet of a workbook (or a CSV file): its header names and its data rows."""

    sheet: str
    header: tuple[str, ...]
    rows: tuple[TableRow, ...]


def _unreadable(message: str) -> BadRequest:
    return BadRequest(message, code="file_unreadable")


def clean_text(value: str) -> str:
    """Trim spaces, full-width spaces, BOMs and zero-width spaces from both ends."""
    return value.strip(_STRIP)


def normalise_cell(value: object) -> Cell:
    """A cell as text or a date: integral numbers lose their `.0`, text is trimmed, '' is None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        text = clean_text(str(value))
    return text or None


def header_name(value: Cell) -> str:
    """A header cell as the name columns are matched by."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return value


def decode_csv(data: bytes) -> str:
    """Decode CSV bytes: UTF-16 with a BOM, UTF-8 (with or without BOM), else Big5/CP950."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in _CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _unreadable("無法辨識檔案的文字編碼，請存成 UTF-8 或 Big5 編碼的 CSV 檔")


def _build(
    sheet: str, raw_rows: Iterable[Iterable[object]], max_rows: int, *, workbook_rows: int = 0
) -> Table:
    """Normalise rows, keep the header's width, drop empty rows, refuse oversized files.

    `workbook_rows` > 0 marks one sheet of several sharing that many rows: the refusals then
    name the sheet and the workbook's limit.
    """
    iterator: Iterator[Iterable[object]] = iter(raw_rows)
    first = next(iterator, None)
    header_cells = [normalise_cell(value) for value in first] if first is not None else []
    while header_cells and header_cells[-1] is None:
        header_cells.pop()
    header = tuple(header_name(cell) for cell in header_cells)
    width = len(header)
    if width > MAX_COLUMNS:
        raise BadRequest(
            f"工作表「{sheet}」的標題列有 {width} 欄，超過 {MAX_COLUMNS} 欄的上限"
            if workbook_rows
            else f"標題列有 {width} 欄，超過 {MAX_COLUMNS} 欄的上限；請只保留要匯入的欄位",
            code="too_many_columns",
        )
    rows: list[TableRow] = []
    for number, raw in enumerate(iterator, start=2):
        cells = tuple(normalise_cell(value) for value, _ in zip(raw, range(width), strict=False))
        if not any(cell is not None for cell in cells):
            continue
        if len(rows) >= max_rows:
            raise BadRequest(
                f"活頁簿超過 {workbook_rows} 列資料，請分批匯入"
                if workbook_rows
                else f"檔案超過 {max_rows} 列資料，請分批匯入",
                code="too_many_rows",
            )
        rows.append(TableRow(number, cells + (None,) * (width - len(cells))))
    return Table(sheet=sheet, header=header, rows=tuple(rows))


@contextmanager
def _workbook(data: bytes) -> Iterator[Any]:
    """The opened (read-only) workbook; zip bombs are refused before openpyxl decompresses."""
    if not data.startswith(_ZIP_MAGIC):
        raise _unreadable("檔案不是有效的 Excel（.xlsx）活頁簿，可能已損毀")
    check_workbook(data)  # before openpyxl decompresses anything
    with warnings.catch_warnings():
        # Styles and extensions openpyxl does not know are irrelevant to the values we read.
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise _unreadable("檔案不是有效的 Excel（.xlsx）活頁簿，可能已損毀") from exc
        try:
            yield workbook
        except BadRequest:
            raise
        except Exception as exc:
            raise _unreadable("無法讀取活頁簿的內容，檔案可能已損毀") from exc
        finally:
            workbook.close()


def _rows_of(sheet: Any) -> Iterator[tuple[object, ...]]:
    # Exporters often write a wrong <dimension>; read every cell that is there instead.
    sheet.reset_dimensions()
    rows: Iterator[tuple[object, ...]] = sheet.iter_rows(min_row=1, values_only=True)
    return rows


def _read_xlsx(data: bytes, max_rows: int) -> Table:
    with _workbook(data) as workbook:
        if not workbook.worksheets:
            raise _unreadable("活頁簿中沒有工作表")
        sheet = workbook.worksheets[0]
        return _build(str(sheet.title), _rows_of(sheet), max_rows)


def read_workbook(data: bytes, *, max_rows: int = MAX_ROWS) -> list[Table]:
    """Every worksheet of an xlsx workbook, in order, sharing `max_rows` data rows in all.

    Refused like `read_table`'s xlsx files (the limits' messages name the sheet and the
    workbook); the caller checks the file name. CPU-heavy: call it through `in_worker`.
    """
    if not data:
        raise _unreadable("檔案是空的")
    with _workbook(data) as workbook:
        tables: list[Table] = []
        remaining = max_rows
        for sheet in workbook.worksheets:
            table = _build(str(sheet.title), _rows_of(sheet), remaining, workbook_rows=max_rows)
            remaining -= len(table.rows)
            tables.append(table)
        return tables


def _read_csv(data: bytes, sheet: str, max_rows: int) -> Table:
    text = decode_csv(data)
    if "\x00" in text:
        raise _unreadable("檔案不是文字格式的 CSV 檔")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _build(sheet, reader, max_rows)
    except csv.Error as exc:
        raise _unreadable("CSV 檔格式不正確，無法讀取") from exc


def read_table(data: bytes, filename: str, *, max_rows: int = MAX_ROWS) -> Table:
    """Read the first sheet of an xlsx file, or a CSV file, chosen by the file name's extension.

    Files with more than `max_rows` non-empty data rows (400 `too_many_rows`) or `MAX_COLUMNS`
    header columns (400 `too_many_columns`) are refused, and workbooks that would inflate too far
    (413 `workbook_too_large`, 400 `workbook_suspicious`) are refused before they are opened.
    CPU-heavy: call it from async code through `in_worker`.
    """
    if not data:
        raise _unreadable("檔案是空的")
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    suffix = "." + base.rsplit(".", 1)[-1].lower() if "." in base else ""
    if suffix in _XLSX_SUFFIXES:
        return _read_xlsx(data, max_rows)
    if suffix in _CSV_SUFFIXES:
        return _read_csv(data, base, max_rows)
    if suffix == ".xls":
        raise _unreadable("不支援舊版 Excel（.xls）檔案，請另存為 .xlsx 或 CSV 後再匯入")
    raise _unreadable("不支援此檔案類型，請上傳 Excel（.xlsx）或 CSV 檔")
