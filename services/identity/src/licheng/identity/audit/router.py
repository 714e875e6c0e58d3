"""`GET /audit`: filter by person, action and date."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from licheng.identity.auth import SchoolAdmin
from licheng.identity.deps import SCHOOL
from licheng.kit.audit import query_audit
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, PageParams, page_params
from licheng.kit.timeutil import AwareUtcDatetime

router = APIRouter(prefix=SCHOOL, tags=["audit"], responses=error_responses())


class AuditPublic(BaseModel):
    id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


@router.get("/audit", response_model=Page[AuditPublic], summary="稽核紀錄")
async def read_audit(
    school_code: str,
    session: SessionDep,
    paging: Annotated[PageParams, Depends(page_params)],
    grant: SchoolAdmin,
    person_id: uuid.UUID | None = None,
    action: str | None = None,
    since: AwareUtcDatetime | None = None,
    until: AwareUtcDatetime | None = None,
) -> Page[AuditPublic]:
    """Who changed what and when, newest first."""
    rows, total = await query_audit(
        session,
        school_code=school_code,
        person_id=person_id,
        action=action,
        since=since,
        until=until,
        offset=paging.offset,
        limit=paging.limit,
    )
    return Page(
        items=[AuditPublic.model_validate(r, from_attributes=True) for r in rows],
        next_cursor=paging.next_cursor(total),
        total=total,
    )
