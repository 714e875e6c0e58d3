"""Every query on 名冊 locks."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.performances.models import RosterLock


async def roster_lock(
    session: AsyncSession, school_code: str, roster_code: str, academic_year: int, semester: int
) -> RosterLock | None:
    """The lock of one 名冊 of the school, if it was ever locked."""
    stmt = select(RosterLock).where(
        RosterLock.school_code == school_code,
        RosterLock.roster_code == roster_code,
        RosterLock.academic_year == academic_year,
        RosterLock.semester == semester,
    )
    return (await session.exec(stmt)).first()
