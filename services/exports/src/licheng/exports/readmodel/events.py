"""The consumers that build the read model from course-outcomes' and performances' events.

Each owner stream is consumed in order, one event at a time (`ordered=True`): when the owner's
lock event (`term.locked` / `roster.locked`) is applied, every event the owner published
before it — every record change at or below the lock's high-water mark, since the relay
publishes strictly in outbox order — has been applied too. That is the saga's "caught up".
Replays change nothing: the inbox drops a redelivered event, and each handler writes the
record's whole snapshot.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import (
    STREAMS,
    CadreRecorded,
    CadreRemoved,
    CertificateChanged,
    Event,
    OutcomeCertified,
    OutcomeCreated,
    OutcomeDeleted,
    OutcomeFailed,
    OutcomeReassigned,
    OutcomeRevoked,
    OutcomeSelectionChanged,
    OutcomeSnapshot,
    OutcomesTermLocked,
    OutcomesTermReopened,
    OutcomeSubmitted,
    OutcomeUpdated,
    PerformanceCreated,
    PerformanceDeleted,
    PerformanceSelectionChanged,
    PerformanceSnapshot,
    PerformancesRosterLocked,
    PerformancesRosterReopened,
    PerformanceUpdated,
)
from licheng.contracts.rosters import RosterCode
from licheng.exports.readmodel import repository
from licheng.exports.submissions.saga import owner_locked, owner_reopened
from licheng.kit.inbox import ConsumerSpec

OUTCOMES_DURABLE = "exports-outcomes"
PERFORMANCES_DURABLE = "exports-performances"


async def _outcome_changed(session: AsyncSession, event: Event[OutcomeSnapshot]) -> None:
    await repository.upsert_outcome(
        session, school_code=event.school_code, data=event.data, at=event.envelope.occurred_at
    )


async def _outcome_deleted(session: AsyncSession, event: Event[OutcomeDeleted]) -> None:
    await repository.delete_outcome(session, outcome_id=event.data.outcome_id)


async def _term_locked(session: AsyncSession, event: Event[OutcomesTermLocked]) -> None:
    data = event.data
    await owner_locked(
        session,
        submission_id=data.submission_id,
        school_code=event.school_code,
        high_water_mark=data.high_water_mark,
    )


async def _term_reopened(session: AsyncSession, event: Event[OutcomesTermReopened]) -> None:
    data = event.data
    await owner_reopened(
        session,
        school_code=event.school_code,
        roster_code=RosterCode.COURSE_OUTCOMES,
        academic_year=data.academic_year,
        semester=data.semester,
        actor_id=event.actor_id,
    )


async def _performance_changed(session: AsyncSession, event: Event[PerformanceSnapshot]) -> None:
    await repository.upsert_performance(
        session, school_code=event.school_code, data=event.data, at=event.envelope.occurred_at
    )


async def _performance_deleted(session: AsyncSession, event: Event[PerformanceDeleted]) -> None:
    await repository.delete_performance(session, performance_id=event.data.performance_id)


async def _cadre_recorded(session: AsyncSession, event: Event[CadreRecorded]) -> None:
    await repository.upsert_cadre(
        session, school_code=event.school_code, data=event.data, at=event.envelope.occurred_at
    )


async def _cadre_removed(session: AsyncSession, event: Event[CadreRemoved]) -> None:
    await repository.delete_cadre(session, cadre_id=event.data.cadre_id)


async def _certificate_changed(session: AsyncSession, event: Event[CertificateChanged]) -> None:
    await repository.upsert_certificate(session, school_code=event.school_code, data=event.data)


async def _roster_locked(session: AsyncSession, event: Event[PerformancesRosterLocked]) -> None:
    data = event.data
    await owner_locked(
        session,
        submission_id=data.submission_id,
        school_code=event.school_code,
        high_water_mark=data.high_water_mark,
    )


async def _roster_reopened(session: AsyncSession, event: Event[PerformancesRosterReopened]) -> None:
    data = event.data
    await owner_reopened(
        session,
        school_code=event.school_code,
        roster_code=RosterCode(data.roster_code),
        academic_year=data.academic_year,
        semester=data.semester,
        actor_id=event.actor_id,
    )


def outcomes_consumer() -> ConsumerSpec:
    """Course-outcomes' outcomes, selections and term locks, in order."""
    changed: dict[Any, Any] = {
        model: _outcome_changed
        for model in (
            OutcomeCreated,
            OutcomeUpdated,
            OutcomeSubmitted,
            OutcomeCertified,
            OutcomeFailed,
            OutcomeRevoked,
            OutcomeReassigned,
            OutcomeSelectionChanged,
        )
    }
    return ConsumerSpec(
        durable=OUTCOMES_DURABLE,
        stream=STREAMS["course_outcomes"].name,
        handlers={
            **changed,
            OutcomeDeleted: _outcome_deleted,
            OutcomesTermLocked: _term_locked,
            OutcomesTermReopened: _term_reopened,
        },
        ordered=True,
    )


def performances_consumer() -> ConsumerSpec:
    """Performances' records, cadres, certificate catalog and roster locks, in order."""
    return ConsumerSpec(
        durable=PERFORMANCES_DURABLE,
        stream=STREAMS["performances"].name,
        handlers={
            PerformanceCreated: _performance_changed,
            PerformanceUpdated: _performance_changed,
            PerformanceSelectionChanged: _performance_changed,
            PerformanceDeleted: _performance_deleted,
            CadreRecorded: _cadre_recorded,
            CadreRemoved: _cadre_removed,
            CertificateChanged: _certificate_changed,
            PerformancesRosterLocked: _roster_locked,
            PerformancesRosterReopened: _roster_reopened,
        },
        ordered=True,
    )
