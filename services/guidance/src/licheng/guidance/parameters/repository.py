"""Every query on the guidance parameters (one row per school)."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.guidance.models import GuidanceParameters


async def stored_parameters(session: AsyncSession, school_code: str) -> GuidanceParameters | None:
    """The parameters the school saved, if any."""
    stmt = select(GuidanceParameters).where(GuidanceParameters.school_code == school_code)
    return (await session.exec(stmt)).first()
