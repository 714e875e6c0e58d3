"""Request and response shapes of outcomes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field, HttpUrl, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from licheng.course_outcomes.models import (
    CourseSection,
    FailReason,
    KnownPerson,
    Outcome,
    OutcomeFile,
    OutcomeStatus,
    OutcomeType,
)
from licheng.kit.people import StaffRef as StaffRef
from licheng.kit.people import StudentRef as StudentRef


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
    """A teacher's decision: certify, or fail with a reason code and an explanation.

    A failure without either is refused naming the field (422 `request_invalid`, detail type
    `reason_code_required` / `explanation_required`); `certified` comes first, so the field
    validators see it.
    """

    certified: bool
    reason_code: FailReason | None = Field(default=None, validate_default=True)
    explanation: str | None = Field(default=None, max_length=1000, validate_default=True)

    @field_validator("reason_code")
    @classmethod
    def _failure_needs_reason_code(
        cls, value: FailReason | None, info: ValidationInfo
    ) -> FailReason | None:
        if info.data.get("certified") is False and value is None:
            raise PydanticCustomError("reason_code_required", "認證失敗需選擇原因代碼")
        return value

    @field_validator("explanation")
    @classmethod
    def _failure_needs_explanation(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("certified") is False and not (value or "").strip():
            raise PydanticCustomError("explanation_required", "認證失敗需填寫認證說明")
        return value


class FilePublic(BaseModel):
    id: uuid.UUID = Field(description="檔案編號（下載、刪除用）")
    slot: str = Field(description="document（pdf/jpg/png）或 media（mp3/mp4），依內容判定")
    filename: str
    kind: str
    size: int
    sha256: str
    uploaded_at: datetime

    @classmethod
    def of(cls, file: OutcomeFile) -> FilePublic:
        """The API view of a stored file."""
        return cls(
            id=file.id,
            slot=file.slot.value,
            filename=file.filename,
            kind=file.kind,
            size=file.size,
            sha256=file.sha256,
            uploaded_at=file.uploaded_at,
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
    student: StudentRef | None = Field(description="學生（學號、姓名、班級、座號）")
    certifier: StaffRef | None = Field(description="認證教師")
    decided_by: StaffRef | None = Field(description="做出認證決定的教師（可能是代理人）")

    @classmethod
    def of(
        cls,
        outcome: Outcome,
        files: list[OutcomeFile],
        section: CourseSection | None = None,
        people: dict[uuid.UUID, KnownPerson] | None = None,
    ) -> OutcomePublic:
        """The API view of an outcome, with the people the roster knows."""
        known = people or {}
        return cls(
            **outcome.model_dump(exclude={"school_code", "created_at", "updated_at", "decided_by"}),
            student=StudentRef.of(known.get(outcome.student_id)),
            certifier=StaffRef.of(known.get(outcome.certifier_id))
            if outcome.certifier_id
            else None,
            decided_by=StaffRef.of(known.get(outcome.decided_by)) if outcome.decided_by else None,
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
    certifier: StaffRef | None = Field(default=None, description="認證教師")


class DownloadLink(BaseModel):
    url: str
    expires_in: int


class CertifierChange(BaseModel):
    teacher_id: uuid.UUID
