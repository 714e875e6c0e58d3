"""Every query on term locks."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.models import TermLock


async def term_lock(
    session: AsyncSession, school_code: str, academic_year: int, semester: int
) -> TermLock | None:
    """The lock of a term of the school, if it was ever locked."""
    stmt = select(TermLock).where(
        TermLock.school_code == school_code,
        TermLock.academic_year == academic_year,
        TermLock.semester == semester,
    )
    return (await session.exec(stmt)).first()
