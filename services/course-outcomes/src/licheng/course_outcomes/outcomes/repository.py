"""Every query on outcomes and their files. Each starts from a base query scoped to one school,
so an unscoped query cannot be written by accident."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from licheng.course_outcomes.models import (
    CourseSection,
    FileSlot,
    KnownPerson,
    Outcome,
    OutcomeFile,
    OutcomeStatus,
)
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


class OutcomeSort(StrEnum):
    CLASS = "class"  # 班級, 座號
    STUDENT_NO = "student_no"
    COURSE = "course"
    STATUS = "status"
    SUBMITTED_AT = "submitted_at"
    UPDATED_AT = "updated_at"


@dataclass(frozen=True)
class OutcomeFilter:
    """What a list of outcomes is narrowed to; `None` means no narrowing on that field."""

    academic_year: int | None = None
    semester: int | None = None
    statuses: Sequence[OutcomeStatus] | None = None
    certifier_ids: Collection[uuid.UUID] | None = None
    class_codes: Collection[str] | None = None
    section_id: uuid.UUID | None = None
    course_code: str | None = None
    student_id: uuid.UUID | None = None
    selected: bool | None = None


def _sort_keys(sort: OutcomeSort) -> list[Any]:
    keys: dict[OutcomeSort, list[Any]] = {
        OutcomeSort.CLASS: [col(KnownPerson.class_code), col(KnownPerson.seat_no),
                            col(KnownPerson.local_no)],
        OutcomeSort.STUDENT_NO: [col(KnownPerson.local_no)],
        OutcomeSort.COURSE: [col(CourseSection.course_code), col(KnownPerson.local_no)],
        OutcomeSort.STATUS: [col(Outcome.status), col(Outcome.submitted_at)],
        OutcomeSort.SUBMITTED_AT: [col(Outcome.submitted_at)],
        OutcomeSort.UPDATED_AT: [col(Outcome.updated_at)],
    }  # fmt: skip
    return keys[sort]


async def find_outcomes(
    session: AsyncSession,
    school_code: str,
    where: OutcomeFilter,
    paging: PageParams,
    *,
    sort: OutcomeSort = OutcomeSort.CLASS,
    descending: bool = False,
) -> tuple[list[Outcome], int]:
    """A page of the school's outcomes matching `where`, in the asked order, and the total."""
    stmt = (
        _outcomes(school_code)
        .join(CourseSection, col(CourseSection.id) == col(Outcome.section_id))
        .outerjoin(KnownPerson, col(KnownPerson.id) == col(Outcome.student_id))
    )
    conditions: list[Any] = []
    if where.academic_year is not None:
        conditions.append(Outcome.academic_year == where.academic_year)
    if where.semester is not None:
        conditions.append(Outcome.semester == where.semester)
    if where.statuses is not None:
        conditions.append(col(Outcome.status).in_(list(where.statuses)))
    if where.certifier_ids is not None:
        conditions.append(col(Outcome.certifier_id).in_(list(where.certifier_ids)))
    if where.class_codes is not None:
        conditions.append(col(KnownPerson.class_code).in_(list(where.class_codes)))
    if where.section_id is not None:
        conditions.append(Outcome.section_id == where.section_id)
    if where.course_code is not None:
        conditions.append(CourseSection.course_code == where.course_code)
    if where.student_id is not None:
        conditions.append(Outcome.student_id == where.student_id)
    if where.selected is not None:
        conditions.append(Outcome.selected == where.selected)
    keys = [k.desc() if descending else k.asc() for k in _sort_keys(sort)]
    ordered = stmt.where(*conditions).order_by(*(k.nulls_last() for k in keys), col(Outcome.id))
    return await paginate(session, ordered, paging)


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
        ordered = stmt.order_by(col(OutcomeFile.uploaded_at), col(OutcomeFile.id))
        for file in (await session.exec(ordered)).all():
            found[file.outcome_id].append(file)
    return found


async def file_in_slot(
    session: AsyncSession, school_code: str, outcome_id: uuid.UUID, slot: FileSlot
) -> OutcomeFile | None:
    """The outcome's first file in one slot."""
    stmt = _files(school_code).where(OutcomeFile.outcome_id == outcome_id, OutcomeFile.slot == slot)
    ordered = stmt.order_by(col(OutcomeFile.uploaded_at), col(OutcomeFile.id))
    return (await session.exec(ordered)).first()


async def files_in_slot(
    session: AsyncSession, school_code: str, outcome_id: uuid.UUID, slot: FileSlot
) -> list[OutcomeFile]:
    """The outcome's files in one slot (its family: document or media), oldest first."""
    stmt = _files(school_code).where(OutcomeFile.outcome_id == outcome_id, OutcomeFile.slot == slot)
    ordered = stmt.order_by(col(OutcomeFile.uploaded_at), col(OutcomeFile.id))
    return list((await session.exec(ordered)).all())


async def file_by_id(
    session: AsyncSession, school_code: str, outcome_id: uuid.UUID, file_id: uuid.UUID
) -> OutcomeFile | None:
    """One file of the outcome (another outcome's file is not found)."""
    stmt = _files(school_code).where(
        OutcomeFile.outcome_id == outcome_id, OutcomeFile.id == file_id
    )
    return (await session.exec(stmt)).first()


async def count_files(session: AsyncSession, school_code: str, outcome_id: uuid.UUID) -> int:
    """How many files the outcome holds."""
    scoped = _files(school_code).where(OutcomeFile.outcome_id == outcome_id)
    stmt = select(sa.func.count()).select_from(scoped.subquery())
    return int((await session.exec(stmt)).one())


async def lock_for_files(session: AsyncSession, outcome: Outcome) -> bool:
    """Lock the outcome's row (PostgreSQL `FOR UPDATE`; SQLite's writes are serial anyway) and
    reload it, so concurrent changes to its files run one after the other; False if it is gone."""
    stmt = (
        _outcomes(outcome.school_code)
        .where(Outcome.id == outcome.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(stmt)).first() is not None


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
        .returning(Outcome)
        # The returned row refreshes `outcome` itself (one round trip, no refresh SELECT).
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    changed = (await session.exec(stmt)).scalars().first()
    return changed is not None
