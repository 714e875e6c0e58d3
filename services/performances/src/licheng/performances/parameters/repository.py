"""Every query on 多元表現 參數設定."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.performances.models import PerformanceParameters


async def stored_parameters(
    session: AsyncSession, school_code: str, academic_year: int
) -> PerformanceParameters | None:
    """The parameters the school saved for an academic year, if any."""
    stmt = select(PerformanceParameters).where(
        PerformanceParameters.school_code == school_code,
        PerformanceParameters.academic_year == academic_year,
    )
    return (await session.exec(stmt)).first()
