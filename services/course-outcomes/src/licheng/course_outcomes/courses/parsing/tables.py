"""Generic import-file reading: an xlsx or CSV file into a table, headers into columns, errors.

This module is a copy of the generic parts of identity's `imports` package (tables.py, columns.py
and model.py), kept behaviourally identical so that both can move into `licheng.kit.tabular`;
services never import each other. Differences from identity:

- `read_table` takes a keyword-only `max_rows` (default `MAX_ROWS`, identity's 20,000), since
  one term's 修課紀錄 of a large school has more rows than any roster import;
- `ParseResult` is generic over any row type (identity constrains it to its own three rows);
- identity's e-mail column and `RowReader.email` are not copied (no file here has e-mails).

Error messages name the column and say what is wrong; they never repeat the cell's value, since
errors are shown to people and may be logged, and some cells are personal identifiers.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

import openpyxl

from licheng.kit.errors import BadRequest, InvalidRows

Cell = str | date | None
"""A normalised cell: stripped text (numbers as their digits), a date from a date cell, or None."""

MAX_ROWS = 20_000
"""More data rows than any one school's roster import holds; bigger files are refused, not read."""

_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_CSV_SUFFIXES = (".csv", ".txt")
_ZIP_MAGIC = b"PK\x03\x04"
_STRIP = " \t\r\n\u3000\ufeff\u200b\xa0"
_CSV_ENCODINGS = ("utf-8-sig", "cp950", "big5hkscs")

RowT = TypeVar("RowT")


# --- results (identity model.py) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one cell (or a missing column, on row 1); never carries the cell's value."""

    sheet: str
    row: int
    column: str
    code: str
    message: str

    def as_detail(self) -> dict[str, str | int]:
        """The `{sheet, row, column, code, message}` item of an `invalid_rows` error."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ParseResult(Generic[RowT]):
    """The rows without problems and every problem found, sorted by (row, column)."""

    rows: list[RowT]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        """Whether the whole file is valid (an import writes all of it or nothing)."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise `InvalidRows` (422 `invalid_rows`) listing every problem, if there is any."""
        if self.errors:
            raise InvalidRows(detail=[error.as_detail() for error in self.errors])


# --- reading files (identity tables.py) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TableRow:
    """One non-empty data row; `row` is its 1-based spreadsheet row (the header is row 1)."""

    row: int
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """The first sheet of a workbook (or a CSV file): its header names and its data rows."""

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


def _build(sheet: str, raw_rows: Iterable[Iterable[object]], max_rows: int) -> Table:
    """Normalise rows, keep the header's width, drop empty rows, refuse oversized files."""
    iterator: Iterator[Iterable[object]] = iter(raw_rows)
    first = next(iterator, None)
    header_cells = [normalise_cell(value) for value in first] if first is not None else []
    while header_cells and header_cells[-1] is None:
        header_cells.pop()
    header = tuple(header_name(cell) for cell in header_cells)
    width = len(header)
    rows: list[TableRow] = []
    for number, raw in enumerate(iterator, start=2):
        cells = tuple(normalise_cell(value) for value, _ in zip(raw, range(width), strict=False))
        if not any(cell is not None for cell in cells):
            continue
        if len(rows) >= max_rows:
            raise BadRequest(f"檔案超過 {max_rows} 列資料，請分批匯入", code="too_many_rows")
        rows.append(TableRow(number, cells + (None,) * (width - len(cells))))
    return Table(sheet=sheet, header=header, rows=tuple(rows))


def _read_xlsx(data: bytes, max_rows: int) -> Table:
    if not data.startswith(_ZIP_MAGIC):
        raise _unreadable("檔案不是有效的 Excel（.xlsx）活頁簿，可能已損毀")
    with warnings.catch_warnings():
        # Styles and extensions openpyxl does not know are irrelevant to the values we read.
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise _unreadable("檔案不是有效的 Excel（.xlsx）活頁簿，可能已損毀") from exc
        try:
            if not workbook.worksheets:
                raise _unreadable("活頁簿中沒有工作表")
            sheet = workbook.worksheets[0]
            # Exporters often write a wrong <dimension>; read every cell that is there instead.
            sheet.reset_dimensions()
            title = str(sheet.title)
            return _build(title, sheet.iter_rows(min_row=1, values_only=True), max_rows)
        except BadRequest:
            raise
        except Exception as exc:
            raise _unreadable("無法讀取活頁簿的內容，檔案可能已損毀") from exc
        finally:
            workbook.close()


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

    Files with more than `max_rows` non-empty data rows are refused (400 `too_many_rows`).
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


# --- columns and rows (identity columns.py) ----------------------------------------------------


def header_key(name: str) -> str:
    """How a header is compared: NFKC, no whitespace at all, case-folded."""
    return "".join(unicodedata.normalize("NFKC", clean_text(name)).split()).casefold()


@dataclass(frozen=True, slots=True)
class Column:
    """An expected column: its name (used in errors when missing), other accepted headers."""

    name: str
    required: bool = True
    aliases: tuple[str, ...] = ()
    max_length: int = 64

    def find(self, header: Sequence[str]) -> list[int]:
        """Positions of the headers naming this column: its own name first, else an alias."""
        keys = [header_key(cell) for cell in header]
        for name in (self.name, *self.aliases):
            found = [i for i, key in enumerate(keys) if key == header_key(name)]
            if found:
                return found
        return []


class Sheet:
    """A table with its columns located; gathers every error found while reading it."""

    def __init__(self, table: Table, columns: Sequence[Column]) -> None:
        self.table = table
        self.errors: list[RowError] = []
        self._positions: dict[str, int] = {}
        self._labels: dict[str, str] = {}
        for column in columns:
            found = column.find(table.header)
            self._labels[column.name] = table.header[found[0]] if found else column.name
            if found:
                self._positions[column.name] = found[0]
            elif column.required:
                self.error(1, column, "missing_column", f"缺少必要欄位「{column.name}」")
            for extra in found[1:]:
                message = f"欄位「{table.header[extra]}」重複出現，無法判斷要使用哪一欄"
                self.errors.append(
                    RowError(table.sheet, 1, table.header[extra], "duplicate_column", message)
                )

    def label(self, column: Column) -> str:
        """The column's header as the file writes it (its own name when it is missing)."""
        return self._labels[column.name]

    def has(self, column: Column) -> bool:
        """Whether the file has this column."""
        return column.name in self._positions

    def error(self, row: int, column: Column, code: str, message: str) -> None:
        """Record one problem."""
        self.errors.append(RowError(self.table.sheet, row, self.label(column), code, message))

    def rows(self) -> Iterator[RowReader]:
        """A reader for each data row."""
        for table_row in self.table.rows:
            yield RowReader(self, table_row)

    def result(self, rows: list[RowT]) -> ParseResult[RowT]:
        """The rows and every error, sorted by (row, column)."""
        errors = sorted(self.errors, key=lambda e: (e.row, e.column, e.code))
        return ParseResult(rows=rows, errors=errors)

    def position(self, column: Column) -> int | None:
        """The column's index in the row, if the file has it."""
        return self._positions.get(column.name)


class RowReader:
    """Reads one row's cells; `failed` tells whether any of them had a problem."""

    def __init__(self, sheet: Sheet, table_row: TableRow) -> None:
        self.sheet = sheet
        self.row = table_row.row
        self._cells = table_row.cells
        self.failed = False

    def error(self, column: Column, code: str, message: str) -> None:
        """Record a problem in this row's cell of `column`."""
        self.failed = True
        self.sheet.error(self.row, column, code, message)

    def cell(self, column: Column) -> Cell:
        """The raw normalised cell (None when empty or when the file lacks the column)."""
        position = self.sheet.position(column)
        return None if position is None else self._cells[position]

    def text(self, column: Column, *, identifier: bool = False) -> str | None:
        """The cell as text; reports `required` when a required cell is empty, or `too_long`."""
        if not self.sheet.has(column):
            self.failed = self.failed or column.required
            return None
        value = self.cell(column)
        text = value.isoformat() if isinstance(value, date) else value
        if text is not None and identifier:
            text = clean_text(unicodedata.normalize("NFKC", text)) or None
        if text is None:
            if column.required:
                self.error(column, "required", f"「{self.sheet.label(column)}」不可空白")
            return None
        if len(text) > column.max_length:
            label = self.sheet.label(column)
            self.error(column, "too_long", f"「{label}」不可超過 {column.max_length} 個字")
            return None
        return text


class FirstSeen:
    """Remembers the first row each key appeared on, to report duplicates on later rows."""

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}

    def earlier(self, key: str, row: int) -> int | None:
        """The row the key was first seen on, or None (and remember this row) when it is new."""
        first = self._rows.setdefault(key, row)
        return None if first == row else first
