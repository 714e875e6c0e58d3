"""Locks a 名冊 when exports asks (the `submission.requested` step of the roster saga)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import STREAMS, Event, SubmissionRequested
from licheng.contracts.rosters import RosterCode
from licheng.kit.inbox import ConsumerSpec
from licheng.performances.locks.service import lock_roster

DURABLE = "performances-locks"
OURS = frozenset({RosterCode.CADRES, RosterCode.PERFORMANCES})


async def on_submission_requested(session: AsyncSession, event: Event[SubmissionRequested]) -> None:
    """Lock the 名冊 when it is ours (24 校內幹部經歷, 25 學生自填多元表現)."""
    data = event.data
    if data.roster_code not in OURS:
        return
    await lock_roster(
        session,
        school_code=event.school_code,
        roster_code=data.roster_code,
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
