"""公告編輯 (admin) and reading the current announcements (everyone in the school)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel

from licheng.contracts.permissions import Capability
from licheng.identity.announcements import repository, service
from licheng.identity.announcements.service import AnnouncementCreate, AnnouncementUpdate
from licheng.identity.auth import AnnouncementEditor, SchoolMember
from licheng.identity.deps import SCHOOL
from licheng.identity.models import Announcement, Audience
from licheng.kit.db import SessionDep
from licheng.kit.errors import Forbidden, error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.timeutil import utcnow
from licheng.kit.versioning import ExpectedVersion

router = APIRouter(
    prefix=SCHOOL + "/announcements", tags=["announcements"], responses=error_responses()
)


class AnnouncementPublic(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    audience: Audience
    publish_from: datetime
    publish_until: datetime | None
    version: int

    @classmethod
    def of(cls, item: Announcement) -> AnnouncementPublic:
        """The API view."""
        return cls.model_validate(item, from_attributes=True)


@router.get("", response_model=Page[AnnouncementPublic], summary="公告")
async def list_announcements(
    school_code: str,
    session: SessionDep,
    member: SchoolMember,
    paging: Paging,
    include_scheduled: bool = False,
) -> Page[AnnouncementPublic]:
    """Current announcements for the caller's audience; editors may ask for every one."""
    if include_scheduled:
        if not member.may(Capability.ANNOUNCEMENTS_EDIT):
            raise Forbidden("您沒有「公告編輯」的權限")
        items, total = await repository.list_all(session, school_code, paging)
    else:
        audiences = service.audiences_for(member.roles)
        items, total = await repository.list_current(
            session, school_code, audiences, utcnow(), paging
        )
    return page_of([AnnouncementPublic.of(i) for i in items], total, paging)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=AnnouncementPublic, summary="新增公告"
)
async def create_announcement(
    school_code: str,
    payload: AnnouncementCreate,
    session: SessionDep,
    grant: AnnouncementEditor,
) -> AnnouncementPublic:
    """Post now, or schedule with publish_from/publish_until."""
    item = await service.create(
        session, school_code=school_code, payload=payload, actor=grant.principal.person_id
    )
    return AnnouncementPublic.of(item)


@router.patch("/{item_id}", response_model=AnnouncementPublic, summary="修改公告")
async def update_announcement(
    school_code: str,
    item_id: uuid.UUID,
    payload: AnnouncementUpdate,
    session: SessionDep,
    expected: ExpectedVersion,
    grant: AnnouncementEditor,
) -> AnnouncementPublic:
    """Edit; send `If-Match: <version>` to refuse overwriting someone else's change."""
    item = await service.update(
        session,
        school_code=school_code,
        item_id=item_id,
        payload=payload,
        expected_version=expected,
        actor=grant.principal.person_id,
    )
    return AnnouncementPublic.of(item)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, summary="刪除公告")
async def delete_announcement(
    school_code: str,
    item_id: uuid.UUID,
    session: SessionDep,
    grant: AnnouncementEditor,
) -> None:
    """Delete."""
    await service.delete(
        session, school_code=school_code, item_id=item_id, actor=grant.principal.person_id
    )
