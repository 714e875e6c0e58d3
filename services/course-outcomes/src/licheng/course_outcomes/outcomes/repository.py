"""Every query on outcomes and their files. Each starts from a base query scoped to one school,
so an unscoped query cannot be written by accident."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from licheng.course_outcomes.models import FileSlot, Outcome, OutcomeFile, OutcomeStatus
from licheng.kit.pagination import PageParams, paginate
from licheng.kit.timeutil import utcnow


def _outcomes(school_code: str) -> SelectOfScalar[Outcome]:
    return select(Outcome).where(Outcome.school_code == school_code)


def _files(school_code: str) -> SelectOfScalar[OutcomeFile]:
    return select(OutcomeFile).where(OutcomeFile.school_code == school_code)


def _of_term(
    stmt: SelectOfScalar[Outcome], student_id: uuid.UUID, academic_year: int, semester: int
) -> SelectOfScalar[Outcome]:
    return stmt.where(
        Outcome.student_id == student_id,
        Outcome.academic_year == academic_year,
        Outcome.semester == semester,
    )


async def get_outcome(
    session: AsyncSession, school_code: str, outcome_id: uuid.UUID
) -> Outcome | None:
    """One outcome of the school."""
    return (await session.exec(_outcomes(school_code).where(Outcome.id == outcome_id))).first()


async def outcomes_by_ids(
    session: AsyncSession, school_code: str, ids: Iterable[uuid.UUID]
) -> list[Outcome]:
    """The school's outcomes with these ids (others are not found)."""
    wanted = list(ids)
    if not wanted:
        return []
    stmt = _outcomes(school_code).where(col(Outcome.id).in_(wanted))
    return list((await session.exec(stmt)).all())


async def count_for_term(
    session: AsyncSession,
    school_code: str,
    student_id: uuid.UUID,
    academic_year: int,
    semester: int,
) -> int:
    """How many outcomes the student has in a term."""
    scoped = _of_term(_outcomes(school_code), student_id, academic_year, semester)
    stmt = select(sa.func.count()).select_from(scoped.subquery())
    return int((await session.exec(stmt)).one())


async def list_for_student(
    session: AsyncSession,
    school_code: str,
    student_id: uuid.UUID,
    academic_year: int,
    semester: int,
) -> list[Outcome]:
    """The student's outcomes of a term, oldest first."""
    stmt = _of_term(_outcomes(school_code), student_id, academic_year, semester)
    return list((await session.exec(stmt.order_by(col(Outcome.created_at)))).all())


async def pending_for_certifier(
    session: AsyncSession,
    school_code: str,
    certifier_id: uuid.UUID,
    statuses: Iterable[OutcomeStatus],
    paging: PageParams,
) -> tuple[list[Outcome], int]:
    """A page of the outcomes awaiting (or decided by) this certifying teacher, and the total."""
    stmt = _outcomes(school_code).where(
        Outcome.certifier_id == certifier_id, col(Outcome.status).in_(list(statuses))
    )
    return await paginate(
        session, stmt.order_by(col(Outcome.submitted_at), col(Outcome.id)), paging
    )


async def section_outcomes(
    session: AsyncSession,
    school_code: str,
    section_id: uuid.UUID,
    statuses: Iterable[OutcomeStatus],
) -> list[Outcome]:
    """A section's outcomes in the given states."""
    stmt = _outcomes(school_code).where(
        Outcome.section_id == section_id, col(Outcome.status).in_(list(statuses))
    )
    return list((await session.exec(stmt)).all())


async def files_of(
    session: AsyncSession, school_code: str, outcome_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[OutcomeFile]]:
    """Files per outcome."""
    ids = list(outcome_ids)
    found: dict[uuid.UUID, list[OutcomeFile]] = {i: [] for i in ids}
    if ids:
        stmt = _files(school_code).where(col(OutcomeFile.outcome_id).in_(ids))
        for file in (await session.exec(stmt)).all():
            found[file.outcome_id].append(file)
    return found


async def file_in_slot(
    session: AsyncSession, school_code: str, outcome_id: uuid.UUID, slot: FileSlot
) -> OutcomeFile | None:
    """The outcome's file in one slot."""
    stmt = _files(school_code).where(OutcomeFile.outcome_id == outcome_id, OutcomeFile.slot == slot)
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
            col(Outcome.school_code) == outcome.school_code,
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
