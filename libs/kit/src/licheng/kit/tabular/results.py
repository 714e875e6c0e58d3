"""What parsing a table produces: the valid rows, and every problem found as a row error."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Generic, TypeVar

from licheng.kit.errors import InvalidRows

RowT = TypeVar("RowT")


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

    def raise_for_errors(self, *, what: str = "匯入資料") -> None:
        """Raise `InvalidRows` (422 `invalid_rows`) listing every problem, if there is any."""
        raise_invalid_rows(self.errors, what=what)


def raise_invalid_rows(errors: Sequence[RowError], *, what: str = "匯入資料") -> None:
    """Refuse an import with every problem, sorted by row and column; nothing is written."""
    if errors:
        ordered = sorted(errors, key=lambda e: (e.row, e.column, e.code))
        raise InvalidRows(
            f"{what}有 {len(ordered)} 個問題，未寫入任何資料",
            detail=[error.as_detail() for error in ordered],
        )
