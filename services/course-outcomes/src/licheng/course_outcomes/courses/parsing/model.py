"""The values a 修課紀錄 import produces: enrolment kinds, parsed rows and course-section keys.

Assumption — 重修方式: the accepted values are 自學輔導, 專班, 隨班附讀 and 暑修 (the ways
schools commonly run 重補修). docs/domain.md only records that the central 重修 sheet has a 重修方式
column (§3.4, §3.5), not its code list, so the list is the project's choice and may need to grow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class EnrolmentKind(StrEnum):
    """修課類別: how the student took the course this term."""

    TERM = "學期課程"
    MAKEUP = "補修"
    RETAKE = "重修"
    REPEAT = "重讀"


RETAKE_METHODS: tuple[str, ...] = ("自學輔導", "專班", "隨班附讀", "暑修")
"""重修方式 values a 重修 row may carry (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class CourseRow:
    """A valid 修課紀錄 row: one student in one course in one term; `row` is its file row."""

    academic_year: int
    semester: int
    student_no: str
    course_code: str
    subject_name: str
    credits: int
    grade: int
    teacher_no: str
    kind: EnrolmentKind
    original_academic_year: int | None
    original_semester: int | None
    retake_method: str | None
    row: int


class SectionKey(NamedTuple):
    """A course section: one course taught by one teacher in one term (its 授課教師 certifies)."""

    academic_year: int
    semester: int
    course_code: str
    teacher_no: str
