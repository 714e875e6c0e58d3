"""What goes into a student's portfolio, read from the exports read model.

Only the student's own rows: the person themself, their certified and selected (勾選)
課程學習成果 of every term, and their selected 多元表現 of every year, in a fixed order so the
same data always builds the same index.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.exports.models import CertificateRow, OutcomeRow, PerformanceRow
from licheng.kit.roster import KnownPerson, PersonKind

CERTIFIED = "certified"


@dataclass(frozen=True)
class PortfolioRows:
    """The student, their selected items (ordered) and the names of the certificates cited."""

    student: KnownPerson
    outcomes: list[OutcomeRow]
    performances: list[PerformanceRow]
    certificate_names: dict[str, str]


async def student(
    session: AsyncSession, *, school_code: str, person_id: uuid.UUID
) -> KnownPerson | None:
    """The student as identity last announced them, if they are a student of this school."""
    statement = select(KnownPerson).where(
        KnownPerson.id == person_id,
        KnownPerson.school_code == school_code,
        KnownPerson.kind == PersonKind.STUDENT,
    )
    return (await session.exec(statement)).first()


async def selected_outcomes(
    session: AsyncSession, *, school_code: str, student_id: uuid.UUID
) -> list[OutcomeRow]:
    """The student's certified, selected outcomes of every term, oldest term first."""
    statement = (
        select(OutcomeRow)
        .where(
            OutcomeRow.school_code == school_code,
            OutcomeRow.student_id == student_id,
            OutcomeRow.status == CERTIFIED,
            col(OutcomeRow.selected).is_(True),
        )
        .order_by(
            col(OutcomeRow.academic_year),
            col(OutcomeRow.semester),
            col(OutcomeRow.course_code),
            col(OutcomeRow.outcome_type),
            col(OutcomeRow.outcome_id),
        )
    )
    return list((await session.exec(statement)).all())


async def selected_performances(
    session: AsyncSession, *, school_code: str, student_id: uuid.UUID
) -> list[PerformanceRow]:
    """The student's selected 多元表現 of every year, oldest year first, by category."""
    statement = (
        select(PerformanceRow)
        .where(
            PerformanceRow.school_code == school_code,
            PerformanceRow.student_id == student_id,
            col(PerformanceRow.selected).is_(True),
        )
        .order_by(
            col(PerformanceRow.academic_year),
            col(PerformanceRow.category),
            col(PerformanceRow.performance_id),
        )
    )
    return list((await session.exec(statement)).all())


async def certificate_names(
    session: AsyncSession, *, school_code: str, codes: set[str]
) -> dict[str, str]:
    """The school's catalog names of the 證照代碼 `codes` (those it knows)."""
    if not codes:
        return {}
    statement = select(CertificateRow.code, CertificateRow.name).where(
        CertificateRow.school_code == school_code, col(CertificateRow.code).in_(sorted(codes))
    )
    return {code: name for code, name in (await session.exec(statement)).all()}


async def portfolio_rows(
    session: AsyncSession, *, school_code: str, person_id: uuid.UUID
) -> PortfolioRows | None:
    """The student and their selected items, or None when the student is not known here."""
    person = await student(session, school_code=school_code, person_id=person_id)
    if person is None:
        return None
    performances = await selected_performances(
        session, school_code=school_code, student_id=person_id
    )
    codes = {str(p.fields["certificate_code"]) for p in performances
             if p.fields.get("certificate_code")}  # fmt: skip
    return PortfolioRows(
        student=person,
        outcomes=await selected_outcomes(session, school_code=school_code, student_id=person_id),
        performances=performances,
        certificate_names=await certificate_names(session, school_code=school_code, codes=codes),
    )
