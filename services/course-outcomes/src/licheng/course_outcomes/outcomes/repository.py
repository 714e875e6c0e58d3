"""Every query on outcomes, their files, enrolments and term locks; each scoped to a school."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.models import (
    CourseSection,
    Enrolment,
    FileSlot,
    Outcome,
    OutcomeFile,
    OutcomeStatus,
    TermLock,
)
from licheng.kit.timeutil import utcnow


async def get_outcome(
    session: AsyncSession, school_code: str, outcome_id: uuid.UUID
) -> Outcome | None:
    """One outcome of the school."""
    outcome = await session.get(Outcome, outcome_id)
    return outcome if outcome is not None and outcome.school_code == school_code else None


async def get_enrolment(
    session: AsyncSession, school_code: str, enrolment_id: uuid.UUID
) -> tuple[Enrolment, CourseSection] | None:
    """An enrolment of the school with its section."""
    stmt = (
        select(Enrolment, CourseSection)
        .join(CourseSection, col(CourseSection.id) == col(Enrolment.section_id))
        .where(Enrolment.id == enrolment_id, Enrolment.school_code == school_code)
    )
    row = (await session.exec(stmt)).first()
    return (row[0], row[1]) if row else None


async def get_section(session: AsyncSession, section_id: uuid.UUID) -> CourseSection | None:
    """A section by id."""
    return await session.get(CourseSection, section_id)


async def student_courses(
    session: AsyncSession,
    school_code: str,
    student_id: uuid.UUID,
    academic_year: int,
    semester: int,
) -> list[tuple[Enrolment, CourseSection]]:
    """The student's enrolments of a term with their sections."""
    stmt = (
        select(Enrolment, CourseSection)
        .join(CourseSection, col(CourseSection.id) == col(Enrolment.section_id))
        .where(
            Enrolment.school_code == school_code,
            Enrolment.student_id == student_id,
            CourseSection.academic_year == academic_year,
            CourseSection.semester == semester,
        )
        .order_by(col(CourseSection.course_code))
    )
    return [(e, s) for e, s in (await session.exec(stmt)).all()]


async def count_for_term(
    session: AsyncSession,
    school_code: str,
    student_id: uuid.UUID,
    academic_year: int,
    semester: int,
) -> int:
    """How many outcomes the student has in a term."""
    stmt = (
        select(sa.func.count())
        .select_from(Outcome)
        .where(
            Outcome.school_code == school_code,
            Outcome.student_id == student_id,
            Outcome.academic_year == academic_year,
            Outcome.semester == semester,
        )
    )
    return int((await session.exec(stmt)).one())


async def list_for_student(
    session: AsyncSession,
    school_code: str,
    student_id: uuid.UUID,
    academic_year: int,
    semester: int,
) -> list[Outcome]:
    """The student's outcomes of a term, oldest first."""
    stmt = (
        select(Outcome)
        .where(
            Outcome.school_code == school_code,
            Outcome.student_id == student_id,
            Outcome.academic_year == academic_year,
            Outcome.semester == semester,
        )
        .order_by(col(Outcome.created_at))
    )
    return list((await session.exec(stmt)).all())


async def pending_for_certifier(
    session: AsyncSession,
    school_code: str,
    certifier_id: uuid.UUID,
    statuses: Iterable[OutcomeStatus],
) -> list[Outcome]:
    """Outcomes awaiting (or decided by) this certifying teacher."""
    stmt = (
        select(Outcome)
        .where(
            Outcome.school_code == school_code,
            Outcome.certifier_id == certifier_id,
            col(Outcome.status).in_(list(statuses)),
        )
        .order_by(col(Outcome.submitted_at))
    )
    return list((await session.exec(stmt)).all())


async def files_of(
    session: AsyncSession, outcome_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[OutcomeFile]]:
    """Files per outcome."""
    ids = list(outcome_ids)
    found: dict[uuid.UUID, list[OutcomeFile]] = {i: [] for i in ids}
    if ids:
        stmt = select(OutcomeFile).where(col(OutcomeFile.outcome_id).in_(ids))
        for file in (await session.exec(stmt)).all():
            found[file.outcome_id].append(file)
    return found


async def file_in_slot(
    session: AsyncSession, outcome_id: uuid.UUID, slot: FileSlot
) -> OutcomeFile | None:
    """The outcome's file in one slot."""
    stmt = select(OutcomeFile).where(OutcomeFile.outcome_id == outcome_id, OutcomeFile.slot == slot)
    return (await session.exec(stmt)).first()


async def transition(
    session: AsyncSession,
    outcome: Outcome,
    *,
    allowed_from: Iterable[OutcomeStatus],
    values: dict[str, Any],
) -> bool:
    """Change an outcome only if nobody changed it since it was read (one winner, others 409)."""
    stmt = (
        update(Outcome)
        .where(
            col(Outcome.id) == outcome.id,
            col(Outcome.version) == outcome.version,
            col(Outcome.status).in_(list(allowed_from)),
        )
        .values(**values, version=outcome.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    result = await session.exec(stmt)
    if result.rowcount != 1:
        return False
    await session.refresh(outcome)
    return True


async def selected_ids(
    session: AsyncSession,
    school_code: str,
    student_id: uuid.UUID,
    academic_year: int,
    semester: int,
) -> set[uuid.UUID]:
    """The outcomes the student has selected in a term."""
    stmt = select(Outcome.id).where(
        Outcome.school_code == school_code,
        Outcome.student_id == student_id,
        Outcome.academic_year == academic_year,
        Outcome.semester == semester,
        col(Outcome.selected).is_(True),
    )
    return set((await session.exec(stmt)).all())


async def term_lock(
    session: AsyncSession, school_code: str, academic_year: int, semester: int
) -> TermLock | None:
    """The lock of a term, if it was ever locked."""
    return await session.get(TermLock, (school_code, academic_year, semester))


async def outcomes_by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> list[Outcome]:
    """Outcomes by id, after the caller checked their school."""
    wanted = list(ids)
    if not wanted:
        return []
    return list((await session.exec(select(Outcome).where(col(Outcome.id).in_(wanted)))).all())


async def sections_by_ids(
    session: AsyncSession, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, CourseSection]:
    """Sections by id."""
    wanted = list(ids)
    if not wanted:
        return {}
    stmt = select(CourseSection).where(col(CourseSection.id).in_(wanted))
    return {s.id: s for s in (await session.exec(stmt)).all()}


async def section_outcomes(
    session: AsyncSession, section_id: uuid.UUID, statuses: Iterable[OutcomeStatus]
) -> list[Outcome]:
    """A section's outcomes in the given states."""
    stmt = select(Outcome).where(
        Outcome.section_id == section_id, col(Outcome.status).in_(list(statuses))
    )
    return list((await session.exec(stmt)).all())
