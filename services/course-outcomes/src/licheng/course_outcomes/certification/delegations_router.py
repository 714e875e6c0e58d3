"""代理人 over HTTP: a teacher names, lists and ends the colleagues who act for them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.auth import Certifier
from licheng.course_outcomes.certification import delegations, repository
from licheng.course_outcomes.certification.schemas import DelegationCreate, DelegationPublic
from licheng.course_outcomes.models import CertifierDelegation
from licheng.course_outcomes.roster import repository as roster
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.timeutil import utcnow

router = APIRouter(
    prefix="/api/course-outcomes/v1/schools/{school_code}/delegations",
    tags=["certification"],
    responses=error_responses(),
)


async def _views(
    session: AsyncSession, school_code: str, found: list[CertifierDelegation]
) -> list[DelegationPublic]:
    people = await roster.people_by_ids(
        session, school_code, {p for d in found for p in (d.teacher_id, d.substitute_id)}
    )
    now = utcnow()
    return [DelegationPublic.of(d, people, now=now) for d in found]


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=DelegationPublic, summary="指定代理人"
)
async def name_substitute(
    payload: DelegationCreate, session: SessionDep, me: Certifier
) -> DelegationPublic:
    """The teacher names a colleague who sees and certifies their queue from `starts_at` until
    `ends_at`; every decision the 代理人 makes is audited as acting for the teacher."""
    delegation = await delegations.create(
        session,
        school_code=me.school_code,
        teacher_id=me.person_id,
        certifies_in_own_right=me.reach.own_right,
        payload=payload,
    )
    return (await _views(session, me.school_code, [delegation]))[0]


@router.get("", response_model=Page[DelegationPublic], summary="我的代理設定")
async def my_delegations(
    session: SessionDep, me: Certifier, paging: Paging
) -> Page[DelegationPublic]:
    """Delegations the caller gave or received, newest first."""
    found, total = await repository.delegations_involving(
        session, me.school_code, me.person_id, paging
    )
    return page_of(await _views(session, me.school_code, found), total, paging)


@router.delete("/{delegation_id}", response_model=DelegationPublic, summary="結束代理")
async def end_delegation(
    delegation_id: uuid.UUID, session: SessionDep, me: Certifier
) -> DelegationPublic:
    """The teacher ends a delegation now."""
    delegation = await delegations.end(
        session, school_code=me.school_code, delegation_id=delegation_id, teacher_id=me.person_id
    )
    return (await _views(session, me.school_code, [delegation]))[0]
