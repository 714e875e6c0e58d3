"""The status queries: one aggregate query per page, scoped to a school and term."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.models import (
    KnownClass,
    KnownPerson,
    Outcome,
    OutcomeStatus,
    PersonKind,
)

ENROLLED = ("在籍", "休學")


class StudentSort(StrEnum):
    CLASS = "class"
    STUDENT_NO = "student_no"
    FILLED = "filled"
    SUBMITTED = "submitted"
    CERTIFIED = "certified"
    FAILED = "failed"
    SELECTED = "selected"


def _count_when(condition: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _student_filters(
    school_code: str, grade: int | None, class_codes: Sequence[str] | None
) -> list[Any]:
    filters: list[Any] = [
        KnownPerson.school_code == school_code,
        KnownPerson.kind == PersonKind.STUDENT,
        col(KnownPerson.status).in_(ENROLLED),
    ]
    if class_codes is not None:
        filters.append(col(KnownPerson.class_code).in_(list(class_codes)))
    if grade is not None:
        filters.append(KnownClass.grade == grade)
    return filters


async def student_counts(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    grade: int | None,
    class_codes: Sequence[str] | None,
    sort: StudentSort,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """A page of enrolled students with their outcome counts for the term, and the total."""
    class_join = sa.and_(
        col(KnownClass.school_code) == col(KnownPerson.school_code),
        col(KnownClass.class_code) == col(KnownPerson.class_code),
    )
    outcome_join = sa.and_(
        col(Outcome.student_id) == col(KnownPerson.id),
        col(Outcome.academic_year) == academic_year,
        col(Outcome.semester) == semester,
    )
    filters = _student_filters(school_code, grade, class_codes)
    counts = {
        "filled": sa.func.count(col(Outcome.id)),
        "submitted": _count_when(col(Outcome.status) == OutcomeStatus.SUBMITTED),
        "certified": _count_when(col(Outcome.status) == OutcomeStatus.CERTIFIED),
        "failed": _count_when(col(Outcome.status) == OutcomeStatus.FAILED),
        "selected": _count_when(col(Outcome.selected).is_(True)),
    }
    order_key: Any = {
        StudentSort.CLASS: col(KnownPerson.class_code),
        StudentSort.STUDENT_NO: col(KnownPerson.local_no),
    }.get(sort) or counts[sort.value]
    stmt = (
        select(  # type: ignore[call-overload]
            KnownPerson.id, KnownPerson.local_no, KnownPerson.name, KnownPerson.class_code,
            KnownClass.grade, *(c.label(n) for n, c in counts.items()),
        )
        .select_from(KnownPerson)
        .outerjoin(KnownClass, class_join)
        .outerjoin(Outcome, outcome_join)
        .where(*filters)
        .group_by(KnownPerson.id, KnownPerson.local_no, KnownPerson.name,
                  KnownPerson.class_code, KnownClass.grade)
        .order_by(order_key.desc() if descending else order_key.asc(),
                  col(KnownPerson.local_no).asc())
        .offset(offset)
        .limit(limit)
    )  # fmt: skip
    rows = [dict(r._mapping) for r in (await session.exec(stmt)).all()]
    total_stmt = (
        select(sa.func.count())
        .select_from(KnownPerson)
        .outerjoin(KnownClass, class_join)
        .where(*filters)
    )
    total = int((await session.exec(total_stmt)).one())
    return rows, total


async def teacher_counts(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    teacher_ids: Sequence[uuid.UUID] | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Per certifying teacher: pending, succeeded and failed outcomes of the term; the total."""
    filters: list[Any] = [
        Outcome.school_code == school_code,
        Outcome.academic_year == academic_year,
        Outcome.semester == semester,
        col(Outcome.certifier_id).is_not(None),
    ]
    if teacher_ids is not None:
        filters.append(col(Outcome.certifier_id).in_(list(teacher_ids)))
    stmt = (
        select(  # type: ignore[call-overload]
            Outcome.certifier_id, KnownPerson.local_no, KnownPerson.name,
            _count_when(col(Outcome.status) == OutcomeStatus.SUBMITTED).label("pending"),
            _count_when(col(Outcome.status) == OutcomeStatus.CERTIFIED).label("succeeded"),
            _count_when(col(Outcome.status) == OutcomeStatus.FAILED).label("failed"),
        )
        .select_from(Outcome)
        .outerjoin(KnownPerson, col(KnownPerson.id) == col(Outcome.certifier_id))
        .where(*filters)
        .group_by(Outcome.certifier_id, KnownPerson.local_no, KnownPerson.name)
        .order_by(col(KnownPerson.local_no), col(Outcome.certifier_id))
    )  # fmt: skip
    total_stmt = select(sa.func.count(sa.distinct(col(Outcome.certifier_id)))).where(*filters)
    total = int((await session.exec(total_stmt)).one())
    rows = (await session.exec(stmt.offset(offset).limit(limit))).all()
    return [dict(r._mapping) for r in rows], total
