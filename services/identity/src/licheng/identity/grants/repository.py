"""Every query on role grants."""

from __future__ import annotations

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.identity.models import RoleGrant
from licheng.kit.pagination import PageParams, paginate


async def roles_of(session: AsyncSession, school_code: str, person_id: uuid.UUID) -> set[str]:
    """The roles explicitly granted to a person in a school."""
    stmt = select(RoleGrant.role).where(
        RoleGrant.school_code == school_code, RoleGrant.person_id == person_id
    )
    return set((await session.exec(stmt)).all())


async def find(
    session: AsyncSession, school_code: str, person_id: uuid.UUID, role: str
) -> RoleGrant | None:
    """One grant, if held."""
    stmt = select(RoleGrant).where(
        RoleGrant.school_code == school_code,
        RoleGrant.person_id == person_id,
        RoleGrant.role == role,
    )
    return (await session.exec(stmt)).first()


async def list_for_school(
    session: AsyncSession, school_code: str, paging: PageParams
) -> tuple[list[RoleGrant], int]:
    """A page of the school's explicit grants, and their total."""
    stmt = (
        select(RoleGrant)
        .where(RoleGrant.school_code == school_code)
        .order_by(col(RoleGrant.person_id), col(RoleGrant.role))
    )
    return await paginate(session, stmt, paging)
