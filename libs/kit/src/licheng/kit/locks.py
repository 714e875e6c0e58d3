"""Recording that a 名冊 (or term) was locked for a submission, with the outbox high-water mark.

When exports asks a service to lock what it submits, the service answers with an event carrying
the outbox sequence of the newest event written so far. Every record event written before the
lock has a sequence at or below that mark, so exports knows when its read model has caught up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import EventPayload
from licheng.kit.changes import record_change
from licheng.kit.outbox import last_sequence


def _guard_key(school_code: str, entity: str, entity_id: str) -> str:
    return f"licheng-lock:{school_code}:{entity}:{entity_id}"


async def _advisory(session: AsyncSession, function: str, key: str) -> None:
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return  # SQLite: writing transactions never overlap
    with session.no_autoflush:
        await session.scalar(
            sa.select(getattr(sa.func, function)(sa.func.hashtextextended(key, 0)))
        )


async def hold_open(
    session: AsyncSession, *, school_code: str, entity: str, entity_id: str
) -> None:
    """Keep `entity` from being locked until this transaction ends; call before checking that
    it is unlocked, in every transaction that edits what the lock covers."""
    await _advisory(
        session, "pg_advisory_xact_lock_shared", _guard_key(school_code, entity, entity_id)
    )


async def record_lock(
    session: AsyncSession,
    *,
    school_code: str,
    actor_id: uuid.UUID | None,
    entity: str,
    entity_id: str,
    submission_id: uuid.UUID,
    event: Callable[[int], EventPayload],
) -> int:
    """Flush the (re-)locked row, take the high-water mark and audit and announce the lock.

    `event` builds the lock's event from the mark; the mark is answered too. Waits first for
    every edit holding `entity` open (`hold_open`) to commit or roll back.
    """
    await _advisory(session, "pg_advisory_xact_lock", _guard_key(school_code, entity, entity_id))
    await session.flush()
    mark = await last_sequence(session)
    record_change(
        session,
        school_code=school_code,
        actor_id=actor_id,
        entity=entity,
        entity_id=entity_id,
        event=event(mark),
        after={"submission_id": str(submission_id), "high_water_mark": mark},
    )
    return mark
