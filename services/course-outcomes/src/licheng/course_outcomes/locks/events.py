"""Locks a term when exports asks (the `submission.requested` step of the roster saga)."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import STREAMS, EventEnvelope, subject_filter
from licheng.course_outcomes.locks.service import lock_term
from licheng.kit.inbox import ConsumerSpec

DURABLE = "course-outcomes-locks"
COURSE_OUTCOMES_ROSTER = "26"  # 學生課程學習成果名冊 (DOMAIN §3.3)


async def on_submission_requested(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Lock the term when the requested roster is ours."""
    data = envelope.data
    if str(data.get("roster_code")) != COURSE_OUTCOMES_ROSTER:
        return
    await lock_term(
        session,
        school_code=envelope.school_code,
        academic_year=int(data["academic_year"]),
        semester=int(data["semester"]),
        submission_id=uuid.UUID(str(data["submission_id"])),
        actor_id=envelope.actor_id,
    )


def lock_consumer() -> ConsumerSpec:
    """The durable consumer of exports' submission requests."""
    return ConsumerSpec(
        durable=DURABLE,
        stream=STREAMS["exports"].name,
        filter_subjects=[subject_filter("exports", "submission", "requested")],
        handler=on_submission_requested,
    )
