"""The 名冊 submission API: 提交, its history and progress, the package download, and 預檢.

- `POST …/submissions` starts a run (202); `GET …/submissions` lists the runs (who, when,
  counts, hash, state); `GET …/submissions/{id}` follows one, with its job's progress;
  `GET …/submissions/{id}/download` answers a short-lived link to the package.
- `POST …/prechecks` queues a 預檢 (202); `GET …/jobs/{id}` follows it; `GET …/prechecks/{id}`
  answers its problems as JSON, `…/prechecks/{id}/problems.xlsx` as a workbook.
Only the roles the permission matrix lets submit a 名冊 see its runs and packages.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse

from licheng.contracts.rosters import ROSTER_TITLES, RosterCode
from licheng.exports.submissions import repository, service
from licheng.exports.submissions.rosters import Submitter, rosters_of
from licheng.exports.submissions.schemas import (
    DownloadLink,
    JobPublic,
    PrecheckReport,
    Problem,
    RosterTermRequest,
    SubmissionList,
    SubmissionPublic,
)
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.spreadsheet import XLSX_ANSWER, Download, TemporaryFileResponse, xlsx_download
from licheng.kit.storage import ObjectStorage
from licheng.kit.timeutil import utcnow

router = APIRouter(
    prefix="/api/exports/v1/schools/{school_code}",
    tags=["submissions"],
    responses=error_responses(),
)

PROBLEM_HEADINGS = ("工作表", "列", "班級", "座號", "學號", "姓名", "問題代碼", "說明", "紀錄編號")


@router.post(
    "/submissions",
    response_model=SubmissionPublic,
    status_code=status.HTTP_202_ACCEPTED,
    summary="提交名冊",
)
async def submit(
    payload: RosterTermRequest, grant: Submitter, session: SessionDep
) -> SubmissionPublic:
    """Start a submission: the owner locks the term, then the package is built."""
    submission = await service.submit(session, grant=grant, payload=payload)
    return await service.submission_public(session, submission)


@router.get("/submissions", response_model=SubmissionList, summary="提交紀錄")
async def list_submissions(
    grant: Submitter,
    session: SessionDep,
    roster_code: RosterCode | None = None,
    academic_year: int | None = Query(default=None, ge=100, le=200),
    semester: int | None = Query(default=None, ge=0, le=2),
) -> SubmissionList:
    """Every run of the 名冊 the caller may submit, newest first."""
    rows = await repository.term_submissions(
        session,
        school_code=grant.school_code,
        roster_codes=rosters_of(grant),
        roster_code=roster_code.value if roster_code else None,
        academic_year=academic_year,
        semester=semester,
    )
    return SubmissionList(items=[await service.submission_public(session, s) for s in rows])


@router.get("/submissions/{submission_id}", response_model=SubmissionPublic, summary="提交進度")
async def read_submission(
    submission_id: uuid.UUID, grant: Submitter, session: SessionDep
) -> SubmissionPublic:
    """One run, with its job's progress."""
    submission = await service.visible_submission(session, grant=grant, submission_id=submission_id)
    return await service.submission_public(session, submission)


@router.get(
    "/submissions/{submission_id}/download", response_model=DownloadLink, summary="下載名冊"
)
async def download_submission(
    submission_id: uuid.UUID, grant: Submitter, session: SessionDep, request: Request
) -> DownloadLink:
    """A short-lived link to the finished package (workbook, attachments, SHA.txt)."""
    submission = await service.visible_submission(session, grant=grant, submission_id=submission_id)
    key = service.downloadable(submission)
    storage: ObjectStorage = request.app.state.storage
    settings = request.app.state.settings
    ttl = timedelta(seconds=settings.download_ttl_seconds)
    url = await storage.presigned_get(bucket=settings.exports_bucket, key=key, expires=ttl)
    return DownloadLink(
        url=url,
        expires_at=utcnow() + ttl,
        filename=f"{submission.school_code}_{submission.academic_year}_{submission.semester}_"
        f"{submission.roster_code}.zip",
        content_hash=submission.content_hash or "",
    )


@router.post(
    "/prechecks", response_model=JobPublic, status_code=status.HTTP_202_ACCEPTED, summary="預檢"
)
async def start_precheck(
    payload: RosterTermRequest, grant: Submitter, session: SessionDep
) -> JobPublic:
    """Queue a 預檢 of a 名冊: every problem by sheet and row."""
    job = service.start_precheck(session, grant=grant, payload=payload)
    await session.flush()
    return service.job_public(job)


@router.get("/jobs/{job_id}", response_model=JobPublic, summary="工作進度")
async def read_job(job_id: uuid.UUID, grant: Submitter, session: SessionDep) -> JobPublic:
    """A job's state and progress (done / total)."""
    return service.job_public(await service.visible_job(session, grant=grant, job_id=job_id))


@router.get("/prechecks/{job_id}", response_model=PrecheckReport, summary="預檢結果")
async def read_precheck(job_id: uuid.UUID, grant: Submitter, session: SessionDep) -> PrecheckReport:
    """The problems a finished 預檢 found."""
    job = await service.visible_job(session, grant=grant, job_id=job_id)
    problems = service.finished_precheck(job)
    return PrecheckReport(
        job=service.job_public(job),
        counts=dict(job.result.get("counts", {})),
        problems=[Problem.model_validate(p) for p in problems],
    )


@router.get(
    "/prechecks/{job_id}/problems.xlsx",
    response_class=StreamingResponse,
    responses=XLSX_ANSWER,
    summary="預檢結果（Excel）",
)
async def download_precheck(
    job_id: uuid.UUID, grant: Submitter, session: SessionDep
) -> TemporaryFileResponse:
    """The problems of a finished 預檢 as a workbook."""
    job = await service.visible_job(session, grant=grant, job_id=job_id)
    problems = service.finished_precheck(job)
    title = ROSTER_TITLES[RosterCode(job.roster_code)]

    async def pages() -> AsyncIterator[Sequence[Sequence[Any]]]:
        yield [
            [
                p.get("sheet"),
                p.get("row"),
                p.get("class_code"),
                p.get("seat_no"),
                p.get("student_no"),
                p.get("name"),
                p.get("code"),
                p.get("message"),
                p.get("record_id"),
            ]
            for p in problems
        ]

    term = f"{job.academic_year} 學年度" + (f"第 {job.semester} 學期" if job.semester else "")
    return await xlsx_download(
        download=Download(
            filename=f"預檢_{job.roster_code}_{job.academic_year}_{job.semester}.xlsx",
            fallback=f"precheck_{job.roster_code}_{job.academic_year}_{job.semester}.xlsx",
        ),
        title="預檢結果",
        headings=PROBLEM_HEADINGS,
        pages=pages(),
        notes=[f"{term}{title}", f"共 {len(problems)} 個問題"],
    )
