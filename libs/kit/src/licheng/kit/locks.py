"""Recording that a 名冊 (or term) was locked for a submission, with the outbox high-water mark.

When exports asks a service to lock what it submits, the service answers with an event carrying
the outbox sequence of the newest event written so far. Every record event written before the
lock has a sequence at or below that mark, so exports knows when its read model has caught up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import EventPayload
from licheng.kit.changes import record_change
from licheng.kit.outbox import last_sequence


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

    `event` builds the lock's event from the mark; the mark is answered too.
    """
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
