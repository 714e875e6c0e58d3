"""Running one export job: mark the attempt, build, store, finish (once), with progress.

A job is safe to run again: a redelivered job (its worker died) starts a new attempt and
rebuilds from the read model, which the owner's lock keeps still, so the package and its hash
come out identical; finishing is one conditional UPDATE, so only one attempt records a result.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import structlog

from licheng.contracts.rosters import RosterCode
from licheng.exports.jobs import repository
from licheng.exports.models import ExportJob, JobKind, JobState, Submission
from licheng.exports.precheck.service import run_precheck
from licheng.exports.receipts.repository import keep_submitted_rows
from licheng.exports.rosters.build import (
    IdentifierSource,
    Progress,
    RosterTerm,
    build_roster,
    remove_built,
)
from licheng.exports.submissions import saga
from licheng.exports.submissions.repository import get_submission
from licheng.kit.db import SessionFactory
from licheng.kit.storage import ObjectStorage

log = structlog.get_logger("licheng.exports.jobs")
PROGRESS_EVERY_SECONDS = 0.5
ZIP = "application/zip"


class JobFailed(Exception):
    """A job that cannot succeed however often it runs; the message says why (zh-TW)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class JobContext:
    """What a worker needs to run jobs."""

    session_factory: SessionFactory
    storage: ObjectStorage
    uploads_bucket: str
    exports_bucket: str
    identifiers: IdentifierSource
    work_dir: Path | None = None


def package_key(submission: Submission) -> str:
    """Where a submission's package is stored: no personal data, one key per run."""
    return (
        f"rosters/{submission.school_code}/{submission.academic_year}-{submission.semester}/"
        f"{submission.roster_code}/{submission.id}.zip"
    )


def _progress(context: JobContext, job_id: uuid.UUID) -> Progress:
    last = 0.0

    async def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done not in (0, total) and now - last < PROGRESS_EVERY_SECONDS:
            return
        last = now
        async with context.session_factory() as session:
            await repository.report_progress(session, job_id, done=done, total=total)
            await session.commit()

    return report


def _term(job: ExportJob) -> RosterTerm:
    return RosterTerm(
        school_code=job.school_code,
        roster_code=RosterCode(job.roster_code),
        academic_year=job.academic_year,
        semester=job.semester,
    )


async def run_job(context: JobContext, job_id: uuid.UUID) -> None:
    """Run (or re-run) a job to its end; JobFailed and transient errors propagate."""
    async with context.session_factory() as session:
        started = await repository.start_attempt(session, job_id)
        await session.commit()
        job = await repository.get_job(session, job_id)
    if not started or job is None:
        log.info("job.already_finished", job_id=str(job_id))
        return
    log.info("job.started", job_id=str(job_id), kind=job.kind, attempt=job.attempts)
    if job.kind is JobKind.PRECHECK:
        await _run_precheck(context, job)
    else:
        await _run_roster(context, job)
    log.info("job.finished", job_id=str(job_id), kind=job.kind)


async def _run_precheck(context: JobContext, job: ExportJob) -> None:
    result = await run_precheck(
        context.session_factory,
        term=_term(job),
        storage=context.storage,
        uploads_bucket=context.uploads_bucket,
        identifiers=context.identifiers,
        purpose=f"預檢 {job.id}",
        progress=_progress(context, job.id),
    )
    async with context.session_factory() as session:
        await repository.finish_job(session, job.id, state=JobState.DONE, result=result)
        await session.commit()


async def _run_roster(context: JobContext, job: ExportJob) -> None:
    if job.submission_id is None:
        raise JobFailed("job_invalid", "名冊工作缺少提交編號")
    async with context.session_factory() as session:
        submission = await get_submission(session, job.submission_id)
    if submission is None or submission.locked_at is None:
        raise JobFailed("job_invalid", "找不到此名冊工作的提交紀錄")
    built = await build_roster(
        context.session_factory,
        term=_term(job),
        storage=context.storage,
        uploads_bucket=context.uploads_bucket,
        identifiers=context.identifiers,
        fixed_time=submission.locked_at,
        purpose=f"名冊 {submission.roster_code} 提交 {submission.id}",
        progress=_progress(context, job.id),
        work_dir=context.work_dir,
    )
    key = package_key(submission)
    try:
        await context.storage.put_file(
            bucket=context.exports_bucket, key=key, path=built.path, content_type=ZIP
        )
    finally:
        remove_built(built)
    async with context.session_factory() as session:
        finished = await repository.finish_job(
            session,
            job.id,
            state=JobState.DONE,
            result={"counts": built.counts},
            object_key=key,
            content_hash=built.content_hash,
        )
        if finished and await saga.complete(
            session,
            submission,
            content_hash=built.content_hash,
            object_key=key,
            counts=built.counts,
        ):
            # What was submitted, per student, for the 收訖明細 comparison (docs/receipts.md).
            keep_submitted_rows(session, submission=submission, rows=built.rows)
        await session.commit()


async def fail_job(context: JobContext, job_id: uuid.UUID, *, code: str, reason: str) -> None:
    """End a job (and its submission) in the failed state with the reason, once."""
    async with context.session_factory() as session:
        finished = await repository.finish_job(
            session, job_id, state=JobState.FAILED, error=f"{code}: {reason}"[:500]
        )
        job = await repository.get_job(session, job_id)
        if finished and job is not None and job.submission_id is not None:
            submission = await get_submission(session, job.submission_id)
            if submission is not None:
                await saga.fail(session, submission, code=code, reason=reason)
        await session.commit()
