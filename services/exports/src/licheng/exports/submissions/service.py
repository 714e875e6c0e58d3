"""What the submissions API does, between the router and the repositories."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.rosters import ROSTER_TITLES, RosterCode
from licheng.exports.jobs import repository as jobs
from licheng.exports.models import ExportJob, JobKind, JobState, Submission, SubmissionState
from licheng.exports.submissions import repository, saga
from licheng.exports.submissions.rosters import require_roster, roster_semester, rosters_of
from licheng.exports.submissions.schemas import JobPublic, RosterTermRequest, SubmissionPublic
from licheng.kit.errors import BadRequest, Conflict, NotFound
from licheng.kit.permissions import Grant


def term_of(payload: RosterTermRequest, grant: Grant) -> tuple[RosterCode, int]:
    """The roster (403 unless the caller may submit it) and its semester, checked."""
    code = require_roster(grant, payload.roster_code)
    semester = roster_semester(code, payload.semester)
    if code is not RosterCode.PERFORMANCES and semester not in (1, 2):
        raise BadRequest(f"「{ROSTER_TITLES[code]}」須指定學期（1 或 2）", code="semester_required")
    return code, semester


def _percent(job: ExportJob) -> int:
    if job.state is JobState.DONE:
        return 100
    return job.done * 100 // job.total if job.total else 0


def job_public(job: ExportJob) -> JobPublic:
    """A job as the API answers it."""
    problems = job.result.get("problems") if job.kind is JobKind.PRECHECK else None
    return JobPublic(
        id=job.id,
        kind=job.kind.value,
        roster_code=job.roster_code,
        academic_year=job.academic_year,
        semester=job.semester,
        state=job.state.value,
        done=job.done,
        total=job.total,
        percent=100
        if job.state is JobState.DONE
        else (job.done * 100 // job.total if job.total else 0),
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        problem_count=len(problems) if isinstance(problems, list) else None,
    )


async def submission_public(session: AsyncSession, submission: Submission) -> SubmissionPublic:
    """A submission with its job's progress."""
    job = await jobs.get_job(session, submission.job_id) if submission.job_id else None
    return SubmissionPublic(
        id=submission.id,
        roster_code=submission.roster_code,
        roster_title=ROSTER_TITLES[RosterCode(submission.roster_code)],
        academic_year=submission.academic_year,
        semester=submission.semester,
        state=submission.state.value,
        requested_by=submission.requested_by,
        requested_at=submission.requested_at,
        locked_at=submission.locked_at,
        high_water_mark=submission.high_water_mark,
        finished_at=submission.finished_at,
        failure_code=submission.failure_code,
        failure_reason=submission.failure_reason,
        counts=submission.counts,
        content_hash=submission.content_hash,
        reopened_at=submission.reopened_at,
        job=job_public(job) if job else None,
    )


async def submit(session: AsyncSession, *, grant: Grant, payload: RosterTermRequest) -> Submission:
    """Start a submission run of a 名冊 the caller may submit."""
    code, semester = term_of(payload, grant)
    return await saga.request_submission(
        session,
        school_code=grant.school_code,
        roster_code=code,
        academic_year=payload.academic_year,
        semester=semester,
        actor_id=grant.principal.person_id,
    )


async def visible_submission(
    session: AsyncSession, *, grant: Grant, submission_id: uuid.UUID
) -> Submission:
    """A submission of the school and of a 名冊 the caller may see, or 404."""
    submission = await repository.get_submission(session, submission_id)
    if (
        submission is None
        or submission.school_code != grant.school_code
        or submission.roster_code not in rosters_of(grant)
    ):
        raise NotFound("找不到此提交紀錄", code="submission_not_found")
    return submission


def downloadable(submission: Submission) -> str:
    """The package's object key, or 409 while there is none."""
    if submission.state is not SubmissionState.COMPLETED or submission.object_key is None:
        raise Conflict("此次提交尚未完成，沒有可下載的檔案", code="submission_not_completed")
    return submission.object_key


def start_precheck(session: AsyncSession, *, grant: Grant, payload: RosterTermRequest) -> ExportJob:
    """Queue a 預檢 job for a 名冊 the caller may submit."""
    code, semester = term_of(payload, grant)
    return jobs.queue_job(
        session,
        school_code=grant.school_code,
        kind=JobKind.PRECHECK,
        roster_code=code.value,
        academic_year=payload.academic_year,
        semester=semester,
        requested_by=grant.principal.person_id,
    )


async def visible_job(session: AsyncSession, *, grant: Grant, job_id: uuid.UUID) -> ExportJob:
    """A job of the school and of a 名冊 the caller may see, or 404."""
    job = await jobs.get_job(session, job_id)
    if (
        job is None
        or job.school_code != grant.school_code
        or job.roster_code not in rosters_of(grant)
    ):
        raise NotFound("找不到此工作", code="job_not_found")
    return job


def finished_precheck(job: ExportJob) -> list[dict[str, object]]:
    """The problems of a finished 預檢, or 409 while it runs."""
    if job.kind is not JobKind.PRECHECK:
        raise NotFound("找不到此預檢", code="job_not_found")
    if job.state is not JobState.DONE:
        raise Conflict("預檢尚未完成", code="precheck_not_finished", detail={"state": job.state})
    problems = job.result.get("problems", [])
    return list(problems) if isinstance(problems, list) else []


def lock_timeout(seconds: float) -> timedelta:
    """The owner's time to lock, as a timedelta."""
    return timedelta(seconds=seconds)
