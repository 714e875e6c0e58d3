"""Every query on course sections and enrolments, each from a base query scoped to a school."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select, SelectOfScalar

from licheng.course_outcomes.models import CourseSection, Enrolment
from licheng.kit.pagination import PageParams, paginate


def _sections(school_code: str) -> SelectOfScalar[CourseSection]:
    return select(CourseSection).where(CourseSection.school_code == school_code)


def _enrolments_with_sections(school_code: str) -> Select[Enrolment, CourseSection]:
    return (
        select(Enrolment, CourseSection)
        .join(CourseSection, col(CourseSection.id) == col(Enrolment.section_id))
        .where(Enrolment.school_code == school_code, CourseSection.school_code == school_code)
    )


def _of_term(
    stmt: SelectOfScalar[CourseSection], academic_year: int, semester: int
) -> SelectOfScalar[CourseSection]:
    return stmt.where(
        CourseSection.academic_year == academic_year, CourseSection.semester == semester
    )


async def get_section(
    session: AsyncSession, school_code: str, section_id: uuid.UUID
) -> CourseSection | None:
    """One section of the school."""
    stmt = _sections(school_code).where(CourseSection.id == section_id)
    return (await session.exec(stmt)).first()


async def sections_by_ids(
    session: AsyncSession, school_code: str, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, CourseSection]:
    """The school's sections with these ids."""
    wanted = list(ids)
    if not wanted:
        return {}
    stmt = _sections(school_code).where(col(CourseSection.id).in_(wanted))
    return {s.id: s for s in (await session.exec(stmt)).all()}


async def sections_of_term(
    session: AsyncSession, school_code: str, academic_year: int, semester: int
) -> dict[tuple[str, str], CourseSection]:
    """(課程代碼, 教師編號) → section, for one term of the school."""
    stmt = _of_term(_sections(school_code), academic_year, semester)
    return {(s.course_code, s.teacher_no): s for s in (await session.exec(stmt)).all()}


async def page_of_sections(
    session: AsyncSession, school_code: str, academic_year: int, semester: int, paging: PageParams
) -> tuple[list[CourseSection], int]:
    """A page of the term's sections, by 課程代碼 and 教師編號, and the total."""
    stmt = _of_term(_sections(school_code), academic_year, semester).order_by(
        col(CourseSection.course_code), col(CourseSection.teacher_no)
    )
    return await paginate(session, stmt, paging)


async def enrolments_of_term(
    session: AsyncSession, school_code: str, academic_year: int, semester: int
) -> dict[tuple[object, str, str], Enrolment]:
    """(section id, 學號, 修課類別) → enrolment, for one term of the school."""
    stmt = (
        select(Enrolment)
        .join(CourseSection, col(CourseSection.id) == col(Enrolment.section_id))
        .where(
            Enrolment.school_code == school_code,
            CourseSection.school_code == school_code,
            CourseSection.academic_year == academic_year,
            CourseSection.semester == semester,
        )
    )
    return {(e.section_id, e.student_no, e.kind): e for e in (await session.exec(stmt)).all()}


async def get_enrolment(
    session: AsyncSession, school_code: str, enrolment_id: uuid.UUID
) -> tuple[Enrolment, CourseSection] | None:
    """An enrolment of the school with its section."""
    stmt = _enrolments_with_sections(school_code).where(Enrolment.id == enrolment_id)
    row = (await session.exec(stmt)).first()
    return (row[0], row[1]) if row else None


async def student_courses(
    session: AsyncSession,
    school_code: str,
    student_id: uuid.UUID,
    academic_year: int,
    semester: int,
) -> list[tuple[Enrolment, CourseSection]]:
    """The student's enrolments of a term with their sections."""
    stmt = (
        _enrolments_with_sections(school_code)
        .where(
            Enrolment.student_id == student_id,
            CourseSection.academic_year == academic_year,
            CourseSection.semester == semester,
        )
        .order_by(col(CourseSection.course_code))
    )
    return [(e, s) for e, s in (await session.exec(stmt)).all()]
