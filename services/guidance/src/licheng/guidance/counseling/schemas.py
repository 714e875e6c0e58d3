"""Request and response shapes of 課程諮詢紀錄."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from licheng.guidance.models import CounselingAttachment, CounselingMode, CounselingRecord
from licheng.kit.dates import parse_date
from licheng.kit.people import StaffRef, StudentRef

TOPIC_MAX = 200
CONTENT_MAX = 5000
FOLLOW_UP_MAX = 5000
STUDENTS_MAX = 200
MODE_TITLES = {CounselingMode.INDIVIDUAL: "個別", CounselingMode.GROUP: "團體"}


def _held_on(value: Any) -> Any:
    """A date as written: ISO (`2025-09-01`) or 民國 (`114/09/01`, `1140901`)."""
    if isinstance(value, str):
        parsed = parse_date(value)
        if parsed is None:
            raise PydanticCustomError(
                "held_on_invalid", "諮詢日期格式不正確（例：2025-09-01 或 114/09/01）"
            )
        return parsed
    return value


HeldOn = Annotated[date, BeforeValidator(_held_on)]
ClassCode = Annotated[str, Field(min_length=1, max_length=20, description="班級代碼")]


class CounselingFields(BaseModel):
    """A whole record as it is validated (a creation, or a stored record with a patch merged)."""

    model_config = ConfigDict(extra="forbid")

    held_on: HeldOn = Field(description="諮詢日期（ISO 或民國年，如 114/09/01）")
    mode: CounselingMode = Field(description="諮詢方式：individual 個別、group 團體")
    student_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=STUDENTS_MAX, description="學生（個別：恰一位）"
    )
    class_code: ClassCode | None = Field(
        default=None, description="團體諮詢的班級：列出當時該班全部在籍學生"
    )
    topic: str = Field(default="", max_length=TOPIC_MAX, description="諮詢主題")
    content: str = Field(max_length=CONTENT_MAX, description="諮詢內容（必填）")
    follow_up: str | None = Field(default=None, max_length=FOLLOW_UP_MAX, description="後續追蹤")

    @field_validator("topic", mode="after")
    @classmethod
    def _topic(cls, value: str) -> str:
        return value.strip()

    @field_validator("follow_up", "class_code", mode="after")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @field_validator("content", mode="after")
    @classmethod
    def _content_required(cls, value: str) -> str:
        text = value.strip()
        if not text:
            raise PydanticCustomError("content_required", "諮詢內容為必填")
        return text


class CounselingCreate(CounselingFields):
    """A new record: individual (one student) or group (students and/or a whole class)."""


class CounselingUpdate(BaseModel):
    """A merge patch: only what is sent changes. Sending `student_ids` or `class_code` replaces
    the participants (the sent students plus, with a class, its enrolled students now)."""

    model_config = ConfigDict(extra="forbid")

    held_on: HeldOn | None = None
    mode: CounselingMode | None = None
    student_ids: list[uuid.UUID] | None = Field(default=None, max_length=STUDENTS_MAX)
    class_code: ClassCode | None = None
    topic: str | None = Field(default=None, max_length=TOPIC_MAX)
    content: str | None = Field(default=None, max_length=CONTENT_MAX)
    follow_up: str | None = Field(default=None, max_length=FOLLOW_UP_MAX)


class AttachmentPublic(BaseModel):
    filename: str
    kind: str = Field(description="pdf | jpg | png")
    size: int
    sha256: str
    uploaded_at: datetime

    @classmethod
    def of(cls, attachment: CounselingAttachment | None) -> AttachmentPublic | None:
        """The view of a stored attachment."""
        if attachment is None:
            return None
        return cls(filename=attachment.filename, kind=attachment.kind, size=attachment.size,
                   sha256=attachment.sha256, uploaded_at=attachment.uploaded_at)  # fmt: skip


class CounselingPublic(BaseModel):
    id: uuid.UUID
    held_on: date = Field(description="諮詢日期")
    mode: CounselingMode = Field(description="諮詢方式")
    topic: str = Field(description="諮詢主題")
    content: str = Field(description="諮詢內容")
    follow_up: str | None = Field(description="後續追蹤")
    counselor: StaffRef | None = Field(description="課程諮詢教師")
    students: list[StudentRef] = Field(description="學生（姓名、學號、班級、座號）")
    class_code: str | None = Field(description="團體諮詢的班級")
    attachment: AttachmentPublic | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls,
        record: CounselingRecord,
        *,
        counselor: StaffRef | None,
        students: list[StudentRef],
        attachment: CounselingAttachment | None,
    ) -> CounselingPublic:
        """The API view of a record."""
        return cls(
            id=record.id, held_on=record.held_on, mode=record.mode, topic=record.topic,
            content=record.content, follow_up=record.follow_up, counselor=counselor,
            students=students, class_code=record.class_code,
            attachment=AttachmentPublic.of(attachment), version=record.version,
            created_at=record.created_at, updated_at=record.updated_at,
        )  # fmt: skip


class DownloadLink(BaseModel):
    url: str
    expires_in: int = Field(description="秒")
