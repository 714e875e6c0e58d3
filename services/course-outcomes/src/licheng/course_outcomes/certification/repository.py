"""Every query on who may certify: sections taught, roles and 代理人 (delegations)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.models import CertifierDelegation, CourseSection
from licheng.kit.pagination import PageParams, paginate


def _active_at(moment: datetime) -> list[sa.ColumnElement[bool]]:
    return [
        col(CertifierDelegation.starts_at) <= moment,
        col(CertifierDelegation.ends_at) > moment,
        sa.or_(
            col(CertifierDelegation.ended_early_at).is_(None),
            col(CertifierDelegation.ended_early_at) > moment,
        ),
    ]


async def teaches_a_section(session: AsyncSession, school_code: str, person_id: uuid.UUID) -> bool:
    """True when the school's 修課紀錄 names the person as a section's 授課教師."""
    stmt = (
        select(CourseSection.id)
        .where(CourseSection.school_code == school_code, CourseSection.teacher_id == person_id)
        .limit(1)
    )
    return (await session.exec(stmt)).first() is not None


async def delegators_of(
    session: AsyncSession, school_code: str, substitute_id: uuid.UUID, moment: datetime
) -> set[uuid.UUID]:
    """The teachers whose 代理人 the person is at `moment`."""
    stmt = select(CertifierDelegation.teacher_id).where(
        CertifierDelegation.school_code == school_code,
        CertifierDelegation.substitute_id == substitute_id,
        *_active_at(moment),
    )
    return set((await session.exec(stmt)).all())


async def get_delegation(
    session: AsyncSession, school_code: str, delegation_id: uuid.UUID
) -> CertifierDelegation | None:
    """One delegation of the school."""
    stmt = select(CertifierDelegation).where(
        CertifierDelegation.school_code == school_code, CertifierDelegation.id == delegation_id
    )
    return (await session.exec(stmt)).first()


async def delegations_involving(
    session: AsyncSession, school_code: str, person_id: uuid.UUID, paging: PageParams
) -> tuple[list[CertifierDelegation], int]:
    """A page of the delegations the person gave or received, newest first, and the total."""
    stmt = (
        select(CertifierDelegation)
        .where(
            CertifierDelegation.school_code == school_code,
            sa.or_(
                col(CertifierDelegation.teacher_id) == person_id,
                col(CertifierDelegation.substitute_id) == person_id,
            ),
        )
        .order_by(col(CertifierDelegation.starts_at).desc(), col(CertifierDelegation.id))
    )
    return await paginate(session, stmt, paging)
