"""The read-model queries a roster build and its 預檢 walk: students page by page, in order.

A build never loads the whole roster: it takes the students who have records (their ids only),
ordered by class, 座號 and 學號, and loads their records one page of students at a time, so
memory stays flat however large the school.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.rosters import RosterCode
from licheng.exports.models import CadreRow, CertificateRow, OutcomeRow, PerformanceRow
from licheng.exports.rosters.layout import CertificateInfo
from licheng.kit.db import SessionFactory
from licheng.kit.roster import KnownPerson

RosterRecord = OutcomeRow | PerformanceRow | CadreRow
PAGE_STUDENTS = 500


@dataclass(frozen=True)
class StudentRecords:
    """One student (None when identity never announced them) and their roster records."""

    student_id: uuid.UUID
    student: KnownPerson | None
    records: list[RosterRecord]


def _model(roster_code: RosterCode) -> Any:
    return {
        RosterCode.COURSE_OUTCOMES: OutcomeRow,
        RosterCode.PERFORMANCES: PerformanceRow,
        RosterCode.CADRES: CadreRow,
    }[roster_code]


def _conditions(
    roster_code: RosterCode, school_code: str, academic_year: int, semester: int
) -> list[Any]:
    """Which records a roster holds: the selected outcomes of the term, the selected 多元表現
    of the year, the 校內幹部 records of the term."""
    model = _model(roster_code)
    where = [model.school_code == school_code, model.academic_year == academic_year]
    if roster_code is not RosterCode.PERFORMANCES:
        where.append(model.semester == semester)
    if roster_code is not RosterCode.CADRES:
        where.append(col(model.selected).is_(True))
    return where


def _records_query(
    roster_code: RosterCode, school_code: str, academic_year: int, semester: int
) -> Any:
    model = _model(roster_code)
    order = {
        RosterCode.COURSE_OUTCOMES: (col(OutcomeRow.course_code), col(OutcomeRow.outcome_id)),
        RosterCode.PERFORMANCES: (col(PerformanceRow.category), col(PerformanceRow.performance_id)),
        RosterCode.CADRES: (col(CadreRow.start_date), col(CadreRow.cadre_id)),
    }[roster_code]
    conditions = _conditions(roster_code, school_code, academic_year, semester)
    return select(model).where(*conditions).order_by(*order)


async def ordered_student_ids(
    session: AsyncSession,
    *,
    roster_code: RosterCode,
    school_code: str,
    academic_year: int,
    semester: int,
) -> list[uuid.UUID]:
    """The students with records in the roster, by class, 座號, 學號 (unknown students last)."""
    model = _model(roster_code)
    conditions = _conditions(roster_code, school_code, academic_year, semester)
    ids = sa.select(model.student_id).where(*conditions).distinct().subquery()
    person = KnownPerson.__table__.c  # type: ignore[attr-defined]
    stmt = (
        sa.select(ids.c.student_id)
        .outerjoin(KnownPerson, person.id == ids.c.student_id)
        .order_by(
            sa.case((person.class_code.is_(None), 1), else_=0),
            person.class_code,
            person.seat_no,
            person.local_no,
            ids.c.student_id,
        )
    )
    rows = (await session.exec(stmt)).all()  # type: ignore[call-overload]
    return [row[0] for row in rows]


async def count_records(
    session: AsyncSession,
    *,
    roster_code: RosterCode,
    school_code: str,
    academic_year: int,
    semester: int,
) -> tuple[int, int]:
    """How many rows and attachment files the roster holds."""
    stmt = _records_query(roster_code, school_code, academic_year, semester)
    rows = files = 0
    for record in (await session.exec(stmt)).all():
        rows += 1
        files += len(getattr(record, "files", []) or [])
    return rows, files


async def student_pages(
    session_factory: SessionFactory,
    *,
    roster_code: RosterCode,
    school_code: str,
    academic_year: int,
    semester: int,
    student_ids: Sequence[uuid.UUID],
    page_size: int = PAGE_STUDENTS,
) -> AsyncIterator[list[StudentRecords]]:
    """The students' records, one page of students at a time, in the order given."""
    model = _model(roster_code)
    for start in range(0, len(student_ids), page_size):
        page = list(student_ids[start : start + page_size])
        async with session_factory() as session:
            stmt = _records_query(roster_code, school_code, academic_year, semester).where(
                col(model.student_id).in_(page)
            )
            by_student: dict[uuid.UUID, list[RosterRecord]] = defaultdict(list)
            for record in (await session.exec(stmt)).all():
                by_student[record.student_id].append(record)
            people_stmt = select(KnownPerson).where(col(KnownPerson.id).in_(page))
            people = {p.id: p for p in (await session.exec(people_stmt)).all()}
        yield [StudentRecords(sid, people.get(sid), by_student[sid]) for sid in page]


async def certificate_catalog(
    session: AsyncSession, *, school_code: str
) -> dict[str, CertificateInfo]:
    """The school's 檢定證照 catalog by 證照代碼, for the 檢定證照紀錄 sheet."""
    stmt = select(CertificateRow).where(CertificateRow.school_code == school_code)
    return {
        row.code: CertificateInfo(
            name=row.name, category=row.category, issuer=row.issuer, domestic=row.domestic
        )
        for row in (await session.exec(stmt)).all()
    }
