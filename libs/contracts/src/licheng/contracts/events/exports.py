"""Events exports publishes: the steps of a roster submission (提交) saga."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from licheng.contracts.events.envelope import EventPayload


class SubmissionRequested(EventPayload):
    event_type: ClassVar[str] = "exports.submission.requested"
    summary: ClassVar[str] = "A submitter asked to submit a roster: its owner locks the term."

    submission_id: uuid.UUID
    roster_code: str = Field(description="24 校內幹部經歷, 25 多元表現, 26 課程學習成果")
    academic_year: int
    semester: int


class SubmissionCompleted(EventPayload):
    event_type: ClassVar[str] = "exports.submission.completed"
    summary: ClassVar[str] = "The roster was built and recorded as submitted."

    submission_id: uuid.UUID
    roster_code: str
    academic_year: int
    semester: int
    content_hash: str = Field(description="SHA-256 of the roster file")


class SubmissionFailed(EventPayload):
    event_type: ClassVar[str] = "exports.submission.failed"
    summary: ClassVar[str] = "The roster could not be built; the reason says why."

    submission_id: uuid.UUID
    roster_code: str
    academic_year: int
    semester: int
    reason: str


class ExportJobQueued(EventPayload):
    event_type: ClassVar[str] = "export_jobs.job.queued"
    summary: ClassVar[str] = (
        "A job for the exports workers (on the EXPORT_JOBS work queue): build a 名冊 or run a 預檢."
    )

    job_id: uuid.UUID
    kind: str = Field(description="roster | precheck")
