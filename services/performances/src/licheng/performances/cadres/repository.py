"""Every query on 校內幹部 records, each from a base query scoped to a school.

The lists join the kit's roster read model for 學號, 姓名, 班級 and 座號; the counts are one
aggregate query per page (plus one for the total), totally ordered so pages never overlap.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from licheng.kit.pagination import PageParams
from licheng.kit.roster import ENROLLED, class_join, homeroom_teacher
from licheng.performances.models import Cadre, KnownClass, KnownPerson, PersonKind

StoredKey = tuple[uuid.UUID, int, int, str, str]
"""(student id, 學年, 學期, 單位名稱, 擔任職務): a stored record's natural key in its school."""

LEVEL_COUNTS = {"school_level": 1, "class_level": 2, "club_level": 3}


@dataclass(frozen=True, slots=True)
class CadreQuery:
    """Which records (or students) a list shows: a school, and optional filters.

    `class_codes` None means every class; an empty list means none (a 導師 without classes).
    """

    school_code: str
    academic_year: int | None = None
    semester: int | None = None
    class_codes: Sequence[str] | None = None
    student_id: uuid.UUID | None = None


def _cadres(school_code: str) -> SelectOfScalar[Cadre]:
    return select(Cadre).where(Cadre.school_code == school_code)


def _person_join(school_code: str) -> Any:
    return sa.and_(
        col(KnownPerson.id) == col(Cadre.student_id), col(KnownPerson.school_code) == school_code
    )


def _cadre_filters(query: CadreQuery) -> list[Any]:
    filters: list[Any] = [col(Cadre.school_code) == query.school_code]
    if query.academic_year is not None:
        filters.append(col(Cadre.academic_year) == query.academic_year)
    if query.semester is not None:
        filters.append(col(Cadre.semester) == query.semester)
    if query.student_id is not None:
        filters.append(col(Cadre.student_id) == query.student_id)
    return filters


def _nulls_last(column: Any) -> Any:
    """Sorts NULLs after values on both engines (PostgreSQL and SQLite disagree by default)."""
    return sa.case((column.is_(None), 1), else_=0)


def _count_when(condition: Any) -> Any:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _ints(mapping: Any, names: Iterable[str]) -> dict[str, Any]:
    """A result row as a dict; sums come back as Decimal from PostgreSQL, so make them ints."""
    row = dict(mapping)
    for name in names:
        row[name] = int(row[name] or 0)
    return row


async def get_cadre(session: AsyncSession, school_code: str, cadre_id: uuid.UUID) -> Cadre | None:
    """One record of the school."""
    return (await session.exec(_cadres(school_code).where(Cadre.id == cadre_id))).first()


async def cadres_of_terms(
    session: AsyncSession, school_code: str, terms: Iterable[tuple[int, int]]
) -> dict[StoredKey, Cadre]:
    """The school's records of these (學年, 學期) terms, by natural key."""
    wanted = sorted(set(terms))
    if not wanted:
        return {}
    stmt = _cadres(school_code).where(
        sa.or_(*(sa.and_(col(Cadre.academic_year) == year, col(Cadre.semester) == semester)
                 for year, semester in wanted))
    )  # fmt: skip
    return {
        (c.student_id, c.academic_year, c.semester, c.unit_name, c.role_title): c
        for c in (await session.exec(stmt)).all()
    }


# Records with their students -----------------------------------------------------------------


def _record_filters(query: CadreQuery) -> list[Any]:
    filters = _cadre_filters(query)
    if query.class_codes is not None:
        filters.append(col(KnownPerson.class_code).in_(list(query.class_codes)))
    return filters


async def page_of_cadres(
    session: AsyncSession, query: CadreQuery, paging: PageParams
) -> tuple[list[tuple[Cadre, KnownPerson | None]], int]:
    """A page of records with their students (newest term first, then 班級, 座號) and the total."""
    filters = _record_filters(query)
    total_stmt = (
        select(sa.func.count())
        .select_from(Cadre)
        .outerjoin(KnownPerson, _person_join(query.school_code))
        .where(*filters)
    )
    total = int((await session.exec(total_stmt)).one())
    stmt = (
        select(Cadre, KnownPerson)
        .outerjoin(KnownPerson, _person_join(query.school_code))
        .where(*filters)
        .order_by(
            col(Cadre.academic_year).desc(), col(Cadre.semester).desc(),
            _nulls_last(col(KnownPerson.class_code)), col(KnownPerson.class_code),
            _nulls_last(col(KnownPerson.seat_no)), col(KnownPerson.seat_no),
            col(KnownPerson.local_no), col(Cadre.start_date), col(Cadre.unit_name),
            col(Cadre.role_title), col(Cadre.id),
        )
        .offset(paging.offset)
        .limit(paging.limit)
    )  # fmt: skip
    rows = (await session.exec(stmt)).all()
    return [(cadre, person) for cadre, person in rows], total


# Counts per student and per class --------------------------------------------------------------


def _student_filters(query: CadreQuery) -> list[Any]:
    """Enrolled students, and any student who has a record matching the query (a graduate's
    earlier years), optionally of some classes or one student."""
    having_records = select(Cadre.student_id).where(*_cadre_filters(query))
    filters: list[Any] = [
        col(KnownPerson.school_code) == query.school_code,
        col(KnownPerson.kind) == PersonKind.STUDENT,
        sa.or_(col(KnownPerson.status).in_(ENROLLED), col(KnownPerson.id).in_(having_records)),
    ]
    if query.class_codes is not None:
        filters.append(col(KnownPerson.class_code).in_(list(query.class_codes)))
    if query.student_id is not None:
        filters.append(col(KnownPerson.id) == query.student_id)
    return filters


def _counts() -> dict[str, Any]:
    counts: dict[str, Any] = {"cadres": sa.func.count(col(Cadre.id))}
    for name, level in LEVEL_COUNTS.items():
        counts[name] = _count_when(col(Cadre.level) == level)
    return counts


async def student_counts(
    session: AsyncSession, query: CadreQuery, paging: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """A page of students with how many records they have (all, and per 幹部等級), and the total."""
    total_stmt = select(sa.func.count()).select_from(KnownPerson).where(*_student_filters(query))
    total = int((await session.exec(total_stmt)).one())
    cadre_join = sa.and_(col(Cadre.student_id) == col(KnownPerson.id), *_cadre_filters(query))
    counts = _counts()
    stmt = (
        select(  # type: ignore[call-overload]
            col(KnownPerson.id).label("student_id"), col(KnownPerson.local_no).label("student_no"),
            KnownPerson.name, KnownPerson.class_code, KnownPerson.seat_no,
            *(c.label(n) for n, c in counts.items()),
        )
        .select_from(KnownPerson)
        .outerjoin(Cadre, cadre_join)
        .where(*_student_filters(query))
        .group_by(KnownPerson.id, KnownPerson.local_no, KnownPerson.name,
                  KnownPerson.class_code, KnownPerson.seat_no)
        .order_by(_nulls_last(col(KnownPerson.class_code)), col(KnownPerson.class_code),
                  _nulls_last(col(KnownPerson.seat_no)), col(KnownPerson.seat_no),
                  col(KnownPerson.local_no), col(KnownPerson.id))
        .offset(paging.offset)
        .limit(paging.limit)
    )  # fmt: skip
    rows = (await session.exec(stmt)).all()
    return [_ints(r._mapping, counts) for r in rows], total


async def class_counts(
    session: AsyncSession, query: CadreQuery, paging: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """A page of classes: students, students with records, and record counts; and the total."""
    classed = [*_student_filters(query), col(KnownPerson.class_code).is_not(None)]
    total_stmt = select(sa.func.count(sa.distinct(col(KnownPerson.class_code)))).where(*classed)
    total = int((await session.exec(total_stmt)).one())
    names = ("cadres", *LEVEL_COUNTS)
    cadre_join = sa.and_(col(Cadre.student_id) == col(KnownPerson.id), *_cadre_filters(query))
    per_student = (
        select(KnownPerson.class_code, *(c.label(n) for n, c in _counts().items()))
        .select_from(KnownPerson)
        .outerjoin(Cadre, cadre_join)
        .where(*classed)
        .group_by(KnownPerson.id, KnownPerson.class_code)
        .subquery("per_student")
    )  # fmt: skip
    per_class = (
        select(
            per_student.c.class_code,
            sa.func.count().label("students"),
            _count_when(per_student.c.cadres > 0).label("students_with_cadres"),
            *(sa.func.sum(per_student.c[n]).label(n) for n in names),
        )
        .group_by(per_student.c.class_code)
        .subquery("per_class")
    )
    homeroom, homeroom_join = homeroom_teacher(query.school_code)
    stmt = (
        select(  # type: ignore[call-overload]
            per_class.c.class_code, KnownClass.grade,
            col(KnownClass.homeroom_person_id).label("homeroom_id"),
            homeroom.name.label("homeroom_name"), per_class.c.students,
            per_class.c.students_with_cadres, *(per_class.c[n] for n in names),
        )
        .select_from(per_class)
        .outerjoin(KnownClass, class_join(query.school_code, per_class.c.class_code))
        .outerjoin(homeroom, homeroom_join)
        .order_by(per_class.c.class_code)
        .offset(paging.offset)
        .limit(paging.limit)
    )  # fmt: skip
    rows = (await session.exec(stmt)).all()
    return [_ints(r._mapping, ("students", "students_with_cadres", *names)) for r in rows], total
