"""The values an import produces: parsed rows, row errors and the result holding both."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from enum import StrEnum
from typing import Generic, TypeVar

from licheng.kit.errors import InvalidRows


class ImportKind(StrEnum):
    """What a file imports."""

    STUDENTS = "students"
    STAFF = "staff"
    CLASSES = "classes"


class EnrolmentStatus(StrEnum):
    """在籍狀態 as the school's 校務行政系統 writes it."""

    ENROLLED = "在籍"
    SUSPENDED = "休學"
    TRANSFERRED_OUT = "轉出"
    GRADUATED = "畢業"


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
class StudentRow:
    """A valid row of a students file."""

    student_no: str
    name: str
    class_code: str
    seat_no: int
    national_id: str
    birth_date: date
    status: EnrolmentStatus
    email: str | None
    row: int


@dataclass(frozen=True, slots=True)
class StaffRow:
    """A valid row of a staff file."""

    staff_no: str
    name: str
    email: str | None
    row: int


@dataclass(frozen=True, slots=True)
class ClassRow:
    """A valid row of a classes file."""

    class_code: str
    grade: int
    name: str | None
    homeroom_staff_no: str | None
    row: int


RowT = TypeVar("RowT", StudentRow, StaffRow, ClassRow)


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
