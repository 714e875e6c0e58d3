"""A change is recorded once: its audit row and its event, in the caller's transaction.

Every state change a service makes is audited (staff are legally responsible for what they
enter) and, when other services care, announced as an event. `record_change` writes both from
one call, so the two can never drift apart or be forgotten one without the other.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import EventEnvelope, EventPayload
from licheng.kit.audit import record_audit
from licheng.kit.outbox import publish_event


def record_change(
    session: AsyncSession,
    *,
    school_code: str,
    actor_id: uuid.UUID | None,
    entity: str,
    entity_id: uuid.UUID | str,
    event: EventPayload | None = None,
    action: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> EventEnvelope | None:
    """Audit a change and publish its event (if any); the action defaults to `<entity>.<verb>`
    of the event type."""
    if action is None:
        if event is None:
            raise ValueError("a change without an event needs an action name")
        action = event.event_type.split(".", 1)[1]
    record_audit(
        session,
        school_code=school_code,
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
    )
    if event is None:
        return None
    return publish_event(session, event, school_code=school_code, actor_id=actor_id)
