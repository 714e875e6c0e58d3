"""Every query on course sections and enrolments."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.models import CourseSection, Enrolment


async def sections_of_term(
    session: AsyncSession, school_code: str, academic_year: int, semester: int
) -> dict[tuple[str, str], CourseSection]:
    """(課程代碼, 教師編號) → section, for one term of the school."""
    stmt = select(CourseSection).where(
        CourseSection.school_code == school_code,
        CourseSection.academic_year == academic_year,
        CourseSection.semester == semester,
    )
    return {(s.course_code, s.teacher_no): s for s in (await session.exec(stmt)).all()}


async def enrolments_of_term(
    session: AsyncSession, school_code: str, academic_year: int, semester: int
) -> dict[tuple[object, str, str], Enrolment]:
    """(section id, 學號, 修課類別) → enrolment, for one term of the school."""
    stmt = (
        select(Enrolment)
        .join(CourseSection, CourseSection.id == Enrolment.section_id)  # type: ignore[arg-type]
        .where(
            CourseSection.school_code == school_code,
            CourseSection.academic_year == academic_year,
            CourseSection.semester == semester,
        )
    )
    return {(e.section_id, e.student_no, e.kind): e for e in (await session.exec(stmt)).all()}
