"""`GET …/schools/{school_code}/audit`: one school's audit log, the same router in every service.

Each service mounts it under its own prefix with its own typed caller that admits the school's
admin, and reads its own `audit_log` (the one `record_change` writes):

    router = audit_router(prefix="/api/identity/v1/schools/{school_code}", reader=SchoolAdmin)

Filters: `person_id` (the actor or the subject), `action`, `entity`, `entity_id` (one thing's
history, e.g. one outcome), `since`/`until` (with an offset); newest first, paginated.
"""

from __future__ import annotations

import typing
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.params import Depends as DependsParam
from pydantic import BaseModel

from licheng.kit.audit import query_audit
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.timeutil import AwareUtcDatetime


class AuditPublic(BaseModel):
    """One audit row as clients read it."""

    id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None


def _dependency_of(reader: object) -> DependsParam:
    """The `Depends` of a typed caller (`Annotated[Grant, Depends(...)]`), or of a callable."""
    if typing.get_origin(reader) is Annotated:
        found = [m for m in getattr(reader, "__metadata__", ()) if isinstance(m, DependsParam)]
        if len(found) == 1:
            return found[0]
    elif isinstance(reader, DependsParam):
        return reader
    elif callable(reader):
        dependency: DependsParam = Depends(reader)
        return dependency
    raise TypeError(f"audit_router needs a FastAPI dependency for the reader, got {reader!r}")


def _canonical(entity_id: str) -> str:
    # Ids are stored as `str(uuid)`; accept a UUID in any spelling (upper case, no hyphens).
    try:
        return str(uuid.UUID(entity_id))
    except ValueError:
        return entity_id


def audit_router(
    *,
    prefix: str,
    reader: object,
    tags: list[str] | None = None,
) -> APIRouter:
    """The `GET {prefix}/audit` router; `reader` is the typed caller admitting the admin.

    `reader` is the service's alias (`Admin = Annotated[Grant, Depends(...)]`), a `Depends(...)`
    or a dependency function; it runs before anything else is read, so a caller it refuses
    learns nothing (not even whether the query was well formed).
    """
    router = APIRouter(prefix=prefix, tags=list(tags or ["audit"]), responses=error_responses())

    @router.get(
        "/audit",
        response_model=Page[AuditPublic],
        summary="稽核紀錄",
        dependencies=[_dependency_of(reader)],
    )
    async def read_audit(
        school_code: str,
        session: SessionDep,
        paging: Paging,
        person_id: Annotated[
            uuid.UUID | None, Query(description="操作者或被異動的人（人員識別碼）")
        ] = None,
        action: Annotated[
            str | None, Query(max_length=100, description="動作，例如 outcome.certified")
        ] = None,
        entity: Annotated[
            str | None, Query(max_length=100, description="資料種類，例如 outcome")
        ] = None,
        entity_id: Annotated[
            str | None, Query(max_length=100, description="資料識別碼：只看這一筆資料的歷程")
        ] = None,
        since: Annotated[AwareUtcDatetime | None, Query(description="起（含），須含時區")] = None,
        until: Annotated[AwareUtcDatetime | None, Query(description="迄（不含），須含時區")] = None,
    ) -> Page[AuditPublic]:
        """Who changed what and when, newest first."""
        rows, total = await query_audit(
            session,
            school_code=school_code,
            person_id=person_id,
            action=action,
            entity=entity,
            entity_id=_canonical(entity_id) if entity_id else None,
            since=since,
            until=until,
            offset=paging.offset,
            limit=paging.limit,
        )
        items = [AuditPublic.model_validate(r, from_attributes=True) for r in rows]
        return page_of(items, total, paging)

    return router
