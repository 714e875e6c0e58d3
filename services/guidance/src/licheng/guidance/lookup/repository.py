"""Queries over the roster read model for the lookup: the school's enrolled students and its
classes in use, each scoped to one school."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.kit import roster
from licheng.kit.pagination import PageParams, paginate
from licheng.kit.roster import KnownClass, KnownPerson


async def students(
    session: AsyncSession,
    school_code: str,
    *,
    class_codes: Sequence[str] | None,
    text: str | None,
    ids: Sequence[uuid.UUID],
    paging: PageParams,
) -> tuple[list[KnownPerson], int]:
    """Enrolled students of the classes (all when None) whose 學號 or name contains the text,
    by 班級, 座號, 學號, and how many there are."""
    stmt = select(KnownPerson).where(*roster.enrolled_students(school_code, class_codes))
    if text:
        needle = text.lower()
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(col(KnownPerson.local_no)).contains(needle, autoescape=True),
                sa.func.lower(col(KnownPerson.name)).contains(needle, autoescape=True),
            )
        )
    if ids:
        stmt = stmt.where(col(KnownPerson.id).in_(list(ids)))
    ordered = stmt.order_by(
        col(KnownPerson.class_code).is_(None),
        col(KnownPerson.class_code),
        col(KnownPerson.seat_no).is_(None),
        col(KnownPerson.seat_no),
        col(KnownPerson.local_no),
    )
    return await paginate(session, ordered, paging)


async def classes(
    session: AsyncSession,
    school_code: str,
    *,
    class_codes: Sequence[str] | None,
    paging: PageParams,
) -> tuple[list[tuple[str, int | None, int]], int]:
    """The classes in use (announced, or attended by an enrolled student) with their grade and
    number of enrolled students, by code, and how many there are."""
    codes = roster.classes_in_use(school_code, class_codes)
    enrolled: Any = (
        select(sa.func.count())
        .where(*roster.enrolled_students(school_code), KnownPerson.class_code == codes.c.class_code)
        .scalar_subquery()
    )
    base: Any = (
        select(codes.c.class_code, col(KnownClass.grade), enrolled.label("students"))
        .select_from(codes)
        .outerjoin(KnownClass, roster.class_join(school_code, codes.c.class_code))
    )
    total = int((await session.exec(select(sa.func.count()).select_from(base.subquery()))).one())
    stmt = base.order_by(codes.c.class_code).offset(paging.offset).limit(paging.limit)
    rows = (await session.exec(stmt)).all()
    return [(str(code), grade, int(count)) for code, grade, count in rows], total
