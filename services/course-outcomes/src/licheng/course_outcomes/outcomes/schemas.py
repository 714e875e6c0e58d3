"""Request and response shapes of outcomes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, HttpUrl, model_validator

from licheng.course_outcomes.models import (
    CourseSection,
    FailReason,
    Outcome,
    OutcomeFile,
    OutcomeStatus,
    OutcomeType,
)


class OutcomeCreate(BaseModel):
    enrolment_id: uuid.UUID
    outcome_type: OutcomeType
    brief: str = Field(min_length=1, max_length=2000, description="內容簡述")
    video_url: HttpUrl | None = Field(default=None, description="影音檔案外部連結")


class OutcomeUpdate(BaseModel):
    outcome_type: OutcomeType | None = None
    brief: str | None = Field(default=None, min_length=1, max_length=2000)
    video_url: HttpUrl | None = None


class Decision(BaseModel):
    """A teacher's decision: certify, or fail with a reason code and an explanation."""

    certified: bool
    reason_code: FailReason | None = None
    explanation: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _failure_needs_reason(self) -> Decision:
        if not self.certified and (
            self.reason_code is None or not (self.explanation or "").strip()
        ):
            raise ValueError("認證失敗需要選擇原因代碼並填寫認證說明")
        return self


class FilePublic(BaseModel):
    slot: str
    filename: str
    kind: str
    size: int
    sha256: str

    @classmethod
    def of(cls, file: OutcomeFile) -> FilePublic:
        """The API view of a stored file."""
        return cls(
            slot=file.slot.value,
            filename=file.filename,
            kind=file.kind,
            size=file.size,
            sha256=file.sha256,
        )


class OutcomePublic(BaseModel):
    id: uuid.UUID
    academic_year: int
    semester: int
    student_id: uuid.UUID
    enrolment_id: uuid.UUID
    section_id: uuid.UUID
    course_code: str | None
    subject_name: str | None
    certifier_id: uuid.UUID | None
    outcome_type: OutcomeType
    brief: str
    video_url: str | None
    status: OutcomeStatus
    fail_reason: FailReason | None
    fail_explanation: str | None
    selected: bool
    submitted_at: datetime | None
    decided_at: datetime | None
    version: int
    files: list[FilePublic]

    @classmethod
    def of(
        cls, outcome: Outcome, files: list[OutcomeFile], section: CourseSection | None = None
    ) -> OutcomePublic:
        """The API view of an outcome."""
        return cls(
            **outcome.model_dump(exclude={"school_code", "created_at", "updated_at", "decided_by"}),
            course_code=section.course_code if section else None,
            subject_name=section.subject_name if section else None,
            files=[FilePublic.of(f) for f in sorted(files, key=lambda f: f.slot)],
        )


class SelectionUpdate(BaseModel):
    academic_year: int = Field(ge=100, le=200)
    semester: int = Field(ge=1, le=2)
    outcome_ids: list[uuid.UUID] = Field(max_length=50)


class CoursePublic(BaseModel):
    enrolment_id: uuid.UUID
    section_id: uuid.UUID
    course_code: str
    subject_name: str
    credits: int
    kind: str
    certifier_id: uuid.UUID | None


class DownloadLink(BaseModel):
    url: str
    expires_in: int


class CertifierChange(BaseModel):
    teacher_id: uuid.UUID
