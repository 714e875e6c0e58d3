"""代理人: a teacher names a colleague who sees and certifies their queue for a time range."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.certification import repository
from licheng.course_outcomes.certification.schemas import DelegationCreate
from licheng.course_outcomes.models import CertifierDelegation, PersonKind
from licheng.course_outcomes.roster import repository as roster
from licheng.kit.changes import record_change
from licheng.kit.errors import BadRequest, Forbidden, NotFound
from licheng.kit.timeutil import utcnow

LONGEST = timedelta(days=366)


def _snapshot(delegation: CertifierDelegation) -> dict[str, Any]:
    return {
        "teacher_id": str(delegation.teacher_id),
        "substitute_id": str(delegation.substitute_id),
        "starts_at": delegation.starts_at.isoformat(),
        "ends_at": delegation.ends_at.isoformat(),
        "ended_early_at": delegation.ended_early_at.isoformat()
        if delegation.ended_early_at
        else None,
    }


def _audit(
    session: AsyncSession,
    delegation: CertifierDelegation,
    *,
    action: str,
    before: dict[str, Any] | None,
) -> None:
    record_change(
        session,
        school_code=delegation.school_code,
        actor_id=delegation.teacher_id,
        entity="delegation",
        entity_id=delegation.id,
        action=action,
        before=before,
        after=_snapshot(delegation),
    )


def _check_range(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if ends_at <= starts_at:
        raise BadRequest(
            "代理結束時間（ends_at）須晚於開始時間（starts_at）", code="delegation_range_invalid"
        )
    if ends_at <= now:
        raise BadRequest("代理結束時間（ends_at）已經過去", code="delegation_range_invalid")
    if ends_at - starts_at > LONGEST:
        raise BadRequest("代理期間最長一年（ends_at）", code="delegation_range_invalid")


async def create(
    session: AsyncSession,
    *,
    school_code: str,
    teacher_id: uuid.UUID,
    certifies_in_own_right: bool,
    payload: DelegationCreate,
) -> CertifierDelegation:
    """The teacher names a 代理人 for a range; audited."""
    if not certifies_in_own_right:
        raise Forbidden("只有授課教師本人可以指定代理人", code="teacher_only")
    if payload.substitute_id == teacher_id:
        raise BadRequest("不能指定自己為代理人（substitute_id）", code="self_delegation")
    substitute = await roster.get_person(session, school_code, payload.substitute_id)
    if substitute is None or substitute.kind != PersonKind.STAFF:
        raise NotFound("找不到此教師（substitute_id）", code="teacher_not_found")
    _check_range(payload.starts_at, payload.ends_at, utcnow())
    delegation = CertifierDelegation(
        school_code=school_code,
        teacher_id=teacher_id,
        substitute_id=payload.substitute_id,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
    )
    session.add(delegation)
    await session.flush()
    _audit(session, delegation, action="delegation.created", before=None)
    return delegation


async def end(
    session: AsyncSession, *, school_code: str, delegation_id: uuid.UUID, teacher_id: uuid.UUID
) -> CertifierDelegation:
    """The teacher who gave it ends a delegation now (a no-op once it has ended); audited."""
    delegation = await repository.get_delegation(session, school_code, delegation_id)
    if delegation is None or delegation.teacher_id != teacher_id:
        raise NotFound("找不到此代理設定", code="delegation_not_found")
    now = utcnow()
    if delegation.ended_early_at is not None or delegation.ends_at <= now:
        return delegation
    before = _snapshot(delegation)
    delegation.ended_early_at = now
    await session.flush()
    _audit(session, delegation, action="delegation.ended", before=before)
    return delegation
