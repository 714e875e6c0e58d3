"""Identity's events and audit rows, written in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.kit.audit import record_audit
from licheng.kit.outbox import publish_event

publish = publish_event


def audit(
    session: AsyncSession,
    *,
    school_code: str,
    actor_id: uuid.UUID | None,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append an audit row."""
    record_audit(
        session,
        school_code=school_code,
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )
