"""Every query on announcements."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.identity.models import Announcement, Audience
from licheng.kit.pagination import PageParams, paginate


async def get(session: AsyncSession, school_code: str, item_id: uuid.UUID) -> Announcement | None:
    """One announcement of the school."""
    item = await session.get(Announcement, item_id)
    return item if item is not None and item.school_code == school_code else None


async def list_all(
    session: AsyncSession, school_code: str, paging: PageParams
) -> tuple[list[Announcement], int]:
    """A page of every announcement, newest publish date first (for editors); the total."""
    stmt = (
        select(Announcement)
        .where(Announcement.school_code == school_code)
        .order_by(col(Announcement.publish_from).desc(), col(Announcement.id))
    )
    return await paginate(session, stmt, paging)


async def list_current(
    session: AsyncSession,
    school_code: str,
    audiences: Iterable[Audience],
    now: datetime,
    paging: PageParams,
) -> tuple[list[Announcement], int]:
    """A page of the announcements published now for any of `audiences`; the total."""
    stmt = (
        select(Announcement)
        .where(
            Announcement.school_code == school_code,
            col(Announcement.audience).in_([a.value for a in audiences]),
            col(Announcement.publish_from) <= now,
            sa.or_(
                col(Announcement.publish_until).is_(None), col(Announcement.publish_until) > now
            ),
        )
        .order_by(col(Announcement.publish_from).desc(), col(Announcement.id))
    )
    return await paginate(session, stmt, paging)
