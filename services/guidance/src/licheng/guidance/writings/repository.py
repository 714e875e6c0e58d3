"""Every query on 自傳 and 學習計畫, each scoped to the school."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.guidance.models import Writing, WritingKind, WritingVersion
from licheng.kit.pagination import PageParams, paginate


async def get_writing(
    session: AsyncSession, school_code: str, student_id: uuid.UUID, kind: WritingKind
) -> Writing | None:
    """The student's writing of a kind, if they saved one."""
    stmt = select(Writing).where(
        Writing.school_code == school_code, Writing.student_id == student_id, Writing.kind == kind
    )
    return (await session.exec(stmt)).first()


async def writing_by_id(
    session: AsyncSession, school_code: str, writing_id: uuid.UUID
) -> Writing | None:
    """One writing of the school."""
    stmt = select(Writing).where(Writing.school_code == school_code, Writing.id == writing_id)
    return (await session.exec(stmt)).first()


async def writings_of(
    session: AsyncSession, school_code: str, student_id: uuid.UUID
) -> list[Writing]:
    """The student's writings (at most one per kind)."""
    stmt = select(Writing).where(
        Writing.school_code == school_code, Writing.student_id == student_id
    )
    return list((await session.exec(stmt)).all())


async def get_version(
    session: AsyncSession, school_code: str, writing_id: uuid.UUID, number: int
) -> WritingVersion | None:
    """One saved version of a writing."""
    stmt = select(WritingVersion).where(
        WritingVersion.school_code == school_code,
        WritingVersion.writing_id == writing_id,
        WritingVersion.number == number,
    )
    return (await session.exec(stmt)).first()


async def current_versions(
    session: AsyncSession, school_code: str, writings: Sequence[Writing]
) -> dict[uuid.UUID, WritingVersion]:
    """The current version of each writing, by writing id."""
    if not writings:
        return {}
    current = [
        sa.and_(col(WritingVersion.writing_id) == w.id, col(WritingVersion.number) == w.version)
        for w in writings
    ]
    stmt = select(WritingVersion).where(WritingVersion.school_code == school_code, sa.or_(*current))
    return {v.writing_id: v for v in (await session.exec(stmt)).all()}


async def versions_page(
    session: AsyncSession,
    school_code: str,
    writing_id: uuid.UUID,
    paging: PageParams,
    *,
    only: int | None = None,
) -> tuple[list[WritingVersion], int]:
    """A page of the writing's versions, newest first (`only`: just that version number)."""
    stmt = select(WritingVersion).where(
        WritingVersion.school_code == school_code, WritingVersion.writing_id == writing_id
    )
    if only is not None:
        stmt = stmt.where(WritingVersion.number == only)
    return await paginate(session, stmt.order_by(col(WritingVersion.number).desc()), paging)
