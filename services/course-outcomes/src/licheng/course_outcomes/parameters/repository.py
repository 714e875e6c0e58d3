"""Every query on 參數設定."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.models import OutcomeParameters


async def stored_parameters(
    session: AsyncSession, school_code: str, academic_year: int, semester: int
) -> OutcomeParameters | None:
    """The parameters the school saved for a term, if any."""
    stmt = select(OutcomeParameters).where(
        OutcomeParameters.school_code == school_code,
        OutcomeParameters.academic_year == academic_year,
        OutcomeParameters.semester == semester,
    )
    return (await session.exec(stmt)).first()
