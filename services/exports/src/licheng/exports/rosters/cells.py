"""Roster cells: what a value becomes in the 名冊 workbook, text made safe for spreadsheets.

Every text cell goes through `neutralise`:

- removed: every control character (C0 `\\x00`–`\\x1f`, DEL, C1 `\\x80`–`\\x9f`) except the line
  feed, and the bidi controls that can make a cell read differently from what it holds
  (U+200E/U+200F marks, U+202A–U+202E embeddings and overrides, U+2066–U+2069 isolates, U+061C);
  also the code points XML 1.0 cannot carry (lone surrogates, U+FFFE, U+FFFF), which would
  otherwise break the file;
- kept: the line feed (LF), so a multi-line 成果簡述 or 內容簡述 stays multi-line as the student
  wrote it (a spreadsheet shows it as a line break inside the cell). A CR is removed, so CRLF
  becomes LF;
- then, following OWASP's CSV-injection advice, a text that starts with `=`, `+`, `-` or `@`,
  or started with a tab, CR or LF before the clean-up, gets a leading `'` so no spreadsheet
  application (or a CSV made from the sheet downstream) reads it as a formula. Both the text as
  given and the cleaned text are checked (`"\\u202e=1"` is neutralised too).

Numbers are numbers, not text: `-1` as an int is written as it is; only `str` cells are changed.

Assumption (one choice, docs/domain.md §8 leaves the central format open): dates are written as
text `YYYY/MM/DD` (Gregorian, zero-padded, e.g. `2026/09/01`): the form the central database's
own exports show (§3.6), never an Excel date serial (which depends on the reader's epoch and
locale), never 民國. ISO dates held as text by the read model are converted with `iso_date`.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal

Cell = str | int | float | Decimal | None
"""A value as the workbook writer writes it: text (already neutralised), a number or empty."""

CellInput = str | int | float | Decimal | date | None
"""What `cell` accepts."""

_FORMULA_STARTS = frozenset("=+-@")
_TRIGGER_STARTS = frozenset("=+-@\t\r\n")
_REMOVED = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f"  # controls except LF
    "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, isolates
    "\ud800-\udfff\ufffe\uffff]"  # not allowed in XML 1.0
)


def neutralise(value: str) -> str:
    """The text with controls and bidi characters removed and a formula start quoted (`'`)."""
    if value.isprintable():  # fast path: no control, format (bidi) or separator characters
        return "'" + value if value and value[0] in _FORMULA_STARTS else value
    cleaned = _REMOVED.sub("", value)
    if not cleaned:
        return cleaned
    if value[0] in _TRIGGER_STARTS or cleaned[0] in _FORMULA_STARTS:
        return "'" + cleaned
    return cleaned


def format_date(value: date) -> str:
    """A date as the roster writes it: `YYYY/MM/DD` (Gregorian)."""
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def iso_date(value: str | None) -> str | None:
    """An ISO `YYYY-MM-DD` text (as the read model holds dates) in the roster's `YYYY/MM/DD`."""
    if value is None or value == "":
        return None
    return format_date(date.fromisoformat(value))


def cell(value: CellInput) -> Cell:
    """A value as the writer writes it: text neutralised, a date as `YYYY/MM/DD`, numbers kept.

    Booleans and datetimes are refused: their text depends on the column (國內/國外, …) and a
    moment needs a time zone, so the layout decides them.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool | datetime):
        raise TypeError(f"a roster cell cannot hold a {type(value).__name__}")
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a roster cell cannot hold NaN or an infinity")
    if isinstance(value, int | float | Decimal):
        return value
    raise TypeError(f"a roster cell cannot hold a {type(value).__name__}")
