"""Queries and conditional writes of export jobs."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import ExportJobQueued
from licheng.exports.models import ExportJob, JobKind, JobState
from licheng.kit.outbox import publish_event
from licheng.kit.timeutil import utcnow


def queue_job(
    session: AsyncSession,
    *,
    school_code: str,
    kind: JobKind,
    roster_code: str,
    academic_year: int,
    semester: int,
    requested_by: uuid.UUID | None,
    submission_id: uuid.UUID | None = None,
    job_id: uuid.UUID | None = None,
) -> ExportJob:
    """Add a queued job and its message for the workers (both commit with the caller)."""
    job = ExportJob(
        id=job_id or uuid.uuid4(),
        school_code=school_code,
        kind=kind,
        roster_code=roster_code,
        academic_year=academic_year,
        semester=semester,
        submission_id=submission_id,
        state=JobState.QUEUED,
        requested_by=requested_by,
    )
    session.add(job)
    publish_event(
        session,
        ExportJobQueued(job_id=job.id, kind=kind.value),
        school_code=school_code,
        actor_id=requested_by,
    )
    return job


async def get_job(session: AsyncSession, job_id: uuid.UUID) -> ExportJob | None:
    """One job."""
    return await session.get(ExportJob, job_id)


async def start_attempt(session: AsyncSession, job_id: uuid.UUID) -> bool:
    """Mark a queued or interrupted job running (one more attempt); False when it is finished."""
    stmt = (
        sa.update(ExportJob)
        .where(
            col(ExportJob.id) == job_id,
            col(ExportJob.state).in_([JobState.QUEUED, JobState.RUNNING]),
        )
        .values(
            state=JobState.RUNNING,
            attempts=ExportJob.attempts + 1,
            started_at=utcnow(),
            done=0,
        )
    )
    result = await session.exec(stmt)
    return bool(result.rowcount)


async def report_progress(
    session: AsyncSession, job_id: uuid.UUID, *, done: int, total: int
) -> None:
    """Record how far a running job is."""
    stmt = (
        sa.update(ExportJob)
        .where(col(ExportJob.id) == job_id, col(ExportJob.state) == JobState.RUNNING)
        .values(done=done, total=total)
    )
    await session.exec(stmt)


async def finish_job(
    session: AsyncSession,
    job_id: uuid.UUID,
    *,
    state: JobState,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    object_key: str | None = None,
    content_hash: str | None = None,
) -> bool:
    """Finish a running job once; False when another attempt finished it first."""
    values: dict[str, Any] = {"state": state, "finished_at": utcnow(), "error": error}
    if result is not None:
        values["result"] = result
    if object_key is not None:
        values["object_key"] = object_key
    if content_hash is not None:
        values["content_hash"] = content_hash
    if state is JobState.DONE:
        values["done"] = ExportJob.total
    stmt = (
        sa.update(ExportJob)
        .where(col(ExportJob.id) == job_id, col(ExportJob.state) == JobState.RUNNING)
        .values(**values)
    )
    outcome = await session.exec(stmt)
    return bool(outcome.rowcount)


async def latest_jobs(
    session: AsyncSession,
    *,
    school_code: str,
    kind: JobKind,
    roster_codes: list[str],
    limit: int = 20,
) -> list[ExportJob]:
    """The newest jobs of a kind for the rosters the caller may see."""
    stmt = (
        select(ExportJob)
        .where(
            ExportJob.school_code == school_code,
            ExportJob.kind == kind,
            col(ExportJob.roster_code).in_(roster_codes),
        )
        .order_by(col(ExportJob.created_at).desc())
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())
