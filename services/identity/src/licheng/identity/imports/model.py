"""The values an import produces: import kinds, enrolment statuses and the parsed rows.

Row errors and the result holding rows and errors are `licheng.kit.tabular`'s `RowError` and
`ParseResult`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from licheng.contracts.people import EnrolmentStatus


class ImportKind(StrEnum):
    """What a file imports."""

    STUDENTS = "students"
    STAFF = "staff"
    CLASSES = "classes"


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
