"""Finding a table's columns by header, reading its cells row by row, and collecting errors.

Error messages name the column and say what is wrong; they never repeat the cell's value, since
errors are shown to people and may be logged, and some cells are personal identifiers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from licheng.kit.tabular.results import ParseResult, RowError, RowT
from licheng.kit.tabular.tables import Cell, Table, TableRow, clean_text

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_MAX_EMAIL = 254


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


EMAIL = Column(
    "email", required=False, aliases=("電子郵件", "e-mail", "電子信箱"), max_length=_MAX_EMAIL
)
"""An optional e-mail address column, as `RowReader.email` reads by default."""


T = TypeVar("T")


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
        """The cell as text; reports `required` when a required cell is empty, or `too_long`.

        `identifier=True` (學號, 教師編號, codes): NFKC-folded and upper-cased.
        """
        if not self.sheet.has(column):
            self.failed = self.failed or column.required
            return None
        value = self.cell(column)
        text = value.isoformat() if isinstance(value, date) else value
        if text is not None and identifier:
            # Codes and numbers compare case-blind (學號 9b0001 is 9B0001; sign-in names are
            # made from them): full-width folded by NFKC, letters upper-cased.
            text = clean_text(unicodedata.normalize("NFKC", text)).upper() or None
        if text is None:
            if column.required:
                self.error(column, "required", f"「{self.sheet.label(column)}」不可空白")
            return None
        if len(text) > column.max_length:
            label = self.sheet.label(column)
            self.error(column, "too_long", f"「{label}」不可超過 {column.max_length} 個字")
            return None
        return text

    def coded(
        self, column: Column, parse: Callable[[str], T | None], *, code: str, hint: str
    ) -> T | None:
        """A code cell read by `parse`; reports `code` ("「欄」必須是 <hint>") when it cannot."""
        text = self.text(column, identifier=True)
        if text is None:
            return None
        value = parse(text)
        if value is None:
            self.error(column, code, f"{column.name}必須是 {hint}")
        return value

    def email(self, column: Column = EMAIL) -> str | None:
        """An optional e-mail address, lower-cased; reports `email_invalid` for a bad shape."""
        text = self.text(column, identifier=True)
        if text is None:
            return None
        if not _EMAIL.fullmatch(text):
            self.error(column, "email_invalid", "電子郵件格式不正確")
            return None
        return text.lower()


class FirstSeen:
    """Remembers the first row each key appeared on, to report duplicates on later rows."""

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}

    def earlier(self, key: str, row: int) -> int | None:
        """The row the key was first seen on, or None (and remember this row) when it is new."""
        first = self._rows.setdefault(key, row)
        return None if first == row else first
