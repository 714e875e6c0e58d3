"""Queries on schools."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.identity.models import School
from licheng.kit.pagination import PageParams, paginate


async def get(session: AsyncSession, code: str) -> School | None:
    """One school by code."""
    return await session.get(School, code)


async def page_of_schools(
    session: AsyncSession, codes: Collection[str] | None, paging: PageParams
) -> tuple[list[School], int]:
    """A page of the schools (all of them, or those with `codes`), by code; the total."""
    stmt = select(School).order_by(col(School.code))
    if codes is not None:
        stmt = stmt.where(col(School.code).in_(list(codes)))
    return await paginate(session, stmt, paging)
