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


class ReceiptImported(EventPayload):
    event_type: ClassVar[str] = "exports.receipt.imported"
    summary: ClassVar[str] = (
        "A 收訖明細 package from the central database was verified and imported (counts only)."
    )

    import_id: uuid.UUID
    academic_year: int
    semester: int
    roster_kinds: list[str] = Field(description="多元表現 | 課程學習成果 | 修課紀錄 | 校內幹部經歷")
    content_hash: str = Field(description="SHA-256 of the package's verified SHA.txt lines")
    records: int
    students: int
    unmatched: int = Field(description="entries no student of the school matched")


class ReceiptConfirmed(EventPayload):
    event_type: ClassVar[str] = "exports.receipt.confirmed"
    summary: ClassVar[str] = "A student confirmed that the term's 收訖明細 is correct."

    student_id: uuid.UUID
    academic_year: int
    semester: int


class ReceiptReported(EventPayload):
    event_type: ClassVar[str] = "exports.receipt.reported"
    summary: ClassVar[str] = "A student reported a problem with one 收訖明細 record."

    report_id: uuid.UUID
    student_id: uuid.UUID
    record_id: uuid.UUID
    academic_year: int
    semester: int
    roster_code: str | None = Field(description="24, 25, 26, or null for 修課紀錄")
    error_code: str


class ReceiptAnswered(EventPayload):
    event_type: ClassVar[str] = "exports.receipt.answered"
    summary: ClassVar[str] = "The roster's submitter answered a student's 收訖明細 report."

    report_id: uuid.UUID
    student_id: uuid.UUID
    answer: str = Field(description="correct_as_received | will_fix_and_resubmit")
