"""Locks a term when exports asks (the `submission.requested` step of the roster saga)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import STREAMS, Event, SubmissionRequested
from licheng.contracts.rosters import RosterCode
from licheng.course_outcomes.locks.service import lock_term
from licheng.kit.inbox import ConsumerSpec

DURABLE = "course-outcomes-locks"


async def on_submission_requested(session: AsyncSession, event: Event[SubmissionRequested]) -> None:
    """Lock the term when the requested roster is ours (學生課程學習成果名冊)."""
    data = event.data
    if data.roster_code != RosterCode.COURSE_OUTCOMES:
        return
    await lock_term(
        session,
        school_code=event.school_code,
        academic_year=data.academic_year,
        semester=data.semester,
        submission_id=data.submission_id,
        actor_id=event.actor_id,
    )


def lock_consumer() -> ConsumerSpec:
    """The durable consumer of exports' submission requests."""
    return ConsumerSpec(
        durable=DURABLE,
        stream=STREAMS["exports"].name,
        handlers={SubmissionRequested: on_submission_requested},
    )
