"""The append-only audit log: who changed what, when, from what to what.

Staff are legally responsible for false entries (seed 4-1), so every state change writes a row
in the same transaction as the change. Rows are never updated or deleted.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.kit.timeutil import tz_datetime_column, utcnow


class AuditEntry(SQLModel, table=True):
    """One audited change."""

    __tablename__ = "audit_log"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    action: str = Field(max_length=100, index=True)
    entity: str = Field(max_length=100)
    entity_id: str = Field(max_length=100, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON()))
    after: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON()))
    request_id: str | None = Field(default=None, max_length=128)
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column(index=True))


def record_audit(
    session: AsyncSession,
    *,
    school_code: str,
    actor_id: uuid.UUID | None,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit row to the caller's transaction."""
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    entry = AuditEntry(
        school_code=school_code,
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
        request_id=request_id,
    )
    session.add(entry)
    return entry


async def query_audit(
    session: AsyncSession,
    *,
    school_code: str,
    person_id: uuid.UUID | None = None,
    action: str | None = None,
    entity: str | None = None,
    entity_id: uuid.UUID | str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[AuditEntry], int]:
    """A school's audit rows, newest first; `person_id` matches the actor or the subject.

    `entity` and `entity_id` narrow to one kind of thing and one thing (one outcome's history);
    every filter given must hold.
    """
    conditions: list[Any] = [AuditEntry.school_code == school_code]
    if person_id is not None:
        conditions.append(
            sa.or_(
                col(AuditEntry.actor_id) == person_id, col(AuditEntry.entity_id) == str(person_id)
            )
        )
    if action:
        conditions.append(AuditEntry.action == action)
    if entity:
        conditions.append(AuditEntry.entity == entity)
    if entity_id is not None and str(entity_id):
        conditions.append(AuditEntry.entity_id == str(entity_id))
    if since is not None:
        conditions.append(col(AuditEntry.occurred_at) >= since)
    if until is not None:
        conditions.append(col(AuditEntry.occurred_at) < until)
    total_stmt = select(sa.func.count()).select_from(AuditEntry).where(*conditions)
    total = int((await session.exec(total_stmt)).one())
    stmt = (
        select(AuditEntry)
        .where(*conditions)
        .order_by(col(AuditEntry.occurred_at).desc(), col(AuditEntry.id))
        .offset(offset)
        .limit(limit)
    )
    return list((await session.exec(stmt)).all()), total
