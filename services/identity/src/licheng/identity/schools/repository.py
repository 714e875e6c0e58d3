"""Queries on schools."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.identity.models import School


async def get(session: AsyncSession, code: str) -> School | None:
    """One school by code."""
    return await session.get(School, code)


async def list_all(session: AsyncSession) -> list[School]:
    """Every school, by code (district operator only)."""
    return list((await session.exec(select(School).order_by(col(School.code)))).all())
