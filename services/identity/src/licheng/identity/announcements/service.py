"""Creating, editing, scheduling and deleting announcements; all audited."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.permissions import Role
from licheng.identity.announcements import repository
from licheng.identity.models import Announcement, Audience
from licheng.kit.audit import record_audit
from licheng.kit.errors import BadRequest, Conflict, NotFound
from licheng.kit.timeutil import AwareUtcDatetime, utcnow


class AnnouncementCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000)
    audience: Audience = Audience.ALL
    publish_from: AwareUtcDatetime | None = None
    publish_until: AwareUtcDatetime | None = None

    @model_validator(mode="after")
    def _window_in_order(self) -> AnnouncementCreate:
        if self.publish_from and self.publish_until and self.publish_until <= self.publish_from:
            raise ValueError("publish_until must be after publish_from")
        return self


class AnnouncementUpdate(BaseModel):
    """Only the fields sent change; `publish_until: null` removes the end, nothing else may be
    null."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=20000)
    audience: Audience | None = None
    publish_from: AwareUtcDatetime | None = None
    publish_until: AwareUtcDatetime | None = None

    @field_validator("title", "body", "audience", "publish_from", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null")
        return value


def _snapshot(item: Announcement) -> dict[str, Any]:
    return {
        "title": item.title,
        "audience": item.audience.value,
        "publish_from": item.publish_from.isoformat(),
        "publish_until": item.publish_until.isoformat() if item.publish_until else None,
    }


async def create(
    session: AsyncSession, *, school_code: str, payload: AnnouncementCreate, actor: uuid.UUID | None
) -> Announcement:
    """Post an announcement (now, or scheduled)."""
    item = Announcement(
        school_code=school_code,
        title=payload.title,
        body=payload.body,
        audience=payload.audience,
        publish_from=payload.publish_from or utcnow(),
        publish_until=payload.publish_until,
        created_by=actor,
    )
    session.add(item)
    await session.flush()
    record_audit(
        session,
        school_code=school_code,
        actor_id=actor,
        action="announcement.created",
        entity="announcement",
        entity_id=item.id,
        after=_snapshot(item),
    )
    return item


async def _get(session: AsyncSession, school_code: str, item_id: uuid.UUID) -> Announcement:
    item = await repository.get(session, school_code, item_id)
    if item is None:
        raise NotFound("找不到此公告", code="announcement_not_found")
    return item


async def update(
    session: AsyncSession,
    *,
    school_code: str,
    item_id: uuid.UUID,
    payload: AnnouncementUpdate,
    expected_version: int | None,
    actor: uuid.UUID | None,
) -> Announcement:
    """Edit; a stale `If-Match` version is a 409."""
    item = await _get(session, school_code, item_id)
    if expected_version is not None and expected_version != item.version:
        raise Conflict(
            "公告已被其他人修改，請重新整理後再試",
            code="version_conflict",
            detail={"current_version": item.version},
        )
    before = _snapshot(item)
    for field, value in payload.model_dump(exclude_unset=True).items():
        setattr(item, field, value)
    if item.publish_until and item.publish_until <= item.publish_from:
        raise BadRequest("下架時間必須晚於上架時間", code="window_invalid")
    item.updated_at = utcnow()
    await session.flush()
    record_audit(
        session,
        school_code=school_code,
        actor_id=actor,
        action="announcement.updated",
        entity="announcement",
        entity_id=item.id,
        before=before,
        after=_snapshot(item),
    )
    return item


async def delete(
    session: AsyncSession, *, school_code: str, item_id: uuid.UUID, actor: uuid.UUID | None
) -> None:
    """Delete an announcement."""
    item = await _get(session, school_code, item_id)
    before = _snapshot(item)
    await session.delete(item)
    await session.flush()
    record_audit(
        session,
        school_code=school_code,
        actor_id=actor,
        action="announcement.deleted",
        entity="announcement",
        entity_id=item_id,
        before=before,
    )


def audiences_for(roles: frozenset[Role]) -> list[Audience]:
    """Students read `all` and `students`; staff read `all` and `staff`; both if both."""
    audiences = [Audience.ALL]
    if Role.STUDENT in roles:
        audiences.append(Audience.STUDENTS)
    if roles - {Role.STUDENT}:
        audiences.append(Audience.STAFF)
    return audiences
