"""The 提交 saga: request → the owner locks and answers its high-water mark → the read model has
caught up (the lock event is applied in order after every earlier event) → the roster job
builds → the submission is recorded, or fails with a visible reason.

The lock rule (docs/exports.md): a failed or timed-out run leaves the owner's lock in place, so
students cannot change what staff are about to resubmit; the submitter runs the submission
again (the owner re-locks idempotently) or the admin reopens the term, audited.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import SubmissionCompleted, SubmissionFailed, SubmissionRequested
from licheng.contracts.rosters import ROSTER_TITLES, RosterCode
from licheng.exports.jobs.repository import queue_job
from licheng.exports.models import JobKind, Submission, SubmissionState
from licheng.exports.submissions import repository
from licheng.kit.changes import record_change
from licheng.kit.errors import Conflict
from licheng.kit.outbox import publish_event
from licheng.kit.timeutil import utcnow

log = structlog.get_logger("licheng.exports.saga")


def _term(roster_code: str, academic_year: int, semester: int) -> str:
    title = ROSTER_TITLES[RosterCode(roster_code)]
    return f"{academic_year} 學年度" + (f"第 {semester} 學期" if semester else "") + f"的{title}"


async def request_submission(
    session: AsyncSession,
    *,
    school_code: str,
    roster_code: RosterCode,
    academic_year: int,
    semester: int,
    actor_id: uuid.UUID | None,
) -> Submission:
    """Start a run: refused while one runs, or while the last one stands unreopened."""
    latest = await repository.latest_for_term(
        session,
        school_code=school_code,
        roster_code=roster_code,
        academic_year=academic_year,
        semester=semester,
    )
    where = _term(roster_code, academic_year, semester)
    if latest is not None and latest.state in repository.IN_FLIGHT:
        raise Conflict(
            f"{where}正在提交中（提交編號 {latest.id}），請等候完成",
            code="submission_in_progress",
            detail={"submission_id": str(latest.id)},
        )
    if (
        latest is not None
        and latest.state is SubmissionState.COMPLETED
        and latest.reopened_at is None
    ):
        raise Conflict(
            f"{where}已提交（提交編號 {latest.id}）；須由系統管理者解除鎖定後才能重新提交",
            code="already_submitted",
            detail={"submission_id": str(latest.id)},
        )
    submission = Submission(
        school_code=school_code,
        roster_code=roster_code.value,
        academic_year=academic_year,
        semester=semester,
        state=SubmissionState.REQUESTED,
        requested_by=actor_id,
    )
    session.add(submission)
    try:
        await session.flush()
    except IntegrityError:  # a racing request started the same run first
        raise Conflict(f"{where}正在提交中，請等候完成", code="submission_in_progress") from None
    record_change(
        session,
        school_code=school_code,
        actor_id=actor_id,
        entity="submission",
        entity_id=submission.id,
        event=SubmissionRequested(
            submission_id=submission.id,
            roster_code=roster_code.value,
            academic_year=academic_year,
            semester=semester,
        ),
    )
    return submission


async def owner_locked(
    session: AsyncSession, *, submission_id: uuid.UUID, school_code: str, high_water_mark: int
) -> None:
    """The owner locked and everything before its lock is applied: queue the roster job."""
    submission = await repository.get_submission(session, submission_id)
    if submission is None or submission.school_code != school_code:
        return  # not ours (another deployment shares the stream) or long gone
    job_id = uuid.uuid4()
    moved = await repository.move(
        session,
        submission_id,
        from_states=(SubmissionState.REQUESTED,),
        state=SubmissionState.BUILDING,
        locked_at=utcnow(),
        high_water_mark=high_water_mark,
        job_id=job_id,
    )
    if not moved:  # already building, or failed (timed out) before the lock came
        log.info("saga.lock_ignored", submission_id=str(submission_id), state=submission.state)
        return
    queue_job(
        session,
        job_id=job_id,
        school_code=school_code,
        kind=JobKind.ROSTER,
        roster_code=submission.roster_code,
        academic_year=submission.academic_year,
        semester=submission.semester,
        requested_by=submission.requested_by,
        submission_id=submission.id,
    )


async def owner_reopened(
    session: AsyncSession,
    *,
    school_code: str,
    roster_code: RosterCode,
    academic_year: int,
    semester: int,
    actor_id: uuid.UUID | None,
) -> None:
    """The admin reopened the term at its owner: the term may be submitted again."""
    await repository.mark_reopened(
        session,
        school_code=school_code,
        roster_code=roster_code.value,
        academic_year=academic_year,
        semester=semester,
        at=utcnow(),
        by=actor_id,
    )


async def complete(
    session: AsyncSession,
    submission: Submission,
    *,
    content_hash: str,
    object_key: str,
    counts: dict[str, Any],
) -> bool:
    """Record the built roster as submitted, once."""
    moved = await repository.move(
        session,
        submission.id,
        from_states=(SubmissionState.BUILDING,),
        state=SubmissionState.COMPLETED,
        finished_at=utcnow(),
        content_hash=content_hash,
        object_key=object_key,
        counts=counts,
    )
    if moved:
        record_change(
            session,
            school_code=submission.school_code,
            actor_id=submission.requested_by,
            entity="submission",
            entity_id=submission.id,
            event=SubmissionCompleted(
                submission_id=submission.id,
                roster_code=submission.roster_code,
                academic_year=submission.academic_year,
                semester=submission.semester,
                content_hash=content_hash,
            ),
            after={"content_hash": content_hash, "counts": counts},
        )
    return moved


async def fail(
    session: AsyncSession,
    submission: Submission,
    *,
    code: str,
    reason: str,
    from_states: tuple[SubmissionState, ...] = (SubmissionState.BUILDING,),
) -> bool:
    """End a run in the failed state with its reason, once."""
    moved = await repository.move(
        session,
        submission.id,
        from_states=from_states,
        state=SubmissionState.FAILED,
        finished_at=utcnow(),
        failure_code=code,
        failure_reason=reason[:500],
    )
    if moved:
        publish_event(
            session,
            SubmissionFailed(
                submission_id=submission.id,
                roster_code=submission.roster_code,
                academic_year=submission.academic_year,
                semester=submission.semester,
                reason=f"{code}: {reason}"[:500],
            ),
            school_code=submission.school_code,
            actor_id=submission.requested_by,
        )
    return moved


async def expire_waiting(session: AsyncSession, *, timeout: timedelta) -> int:
    """Fail the runs whose owner has not locked within `timeout`; how many."""
    failed = 0
    for submission in await repository.stale_requests(session, older_than=utcnow() - timeout):
        failed += await fail(
            session,
            submission,
            code="owner_timeout",
            reason=f"負責鎖定的服務在 {int(timeout.total_seconds())} 秒內沒有回應，請稍後重新提交",
            from_states=(SubmissionState.REQUESTED,),
        )
    return failed
