"""Request and answer bodies of the 收訖明細 API."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from licheng.exports.models import ReportAnswer, ReportStatus


class ErrorCode(StrEnum):
    """What a student says is wrong with a record (docs/receipts.md)."""

    WRONG_VALUE = "R01"
    MISSING_RECORD = "R02"
    DUPLICATE = "R03"
    NOT_MINE = "R04"
    ATTACHMENT = "R05"
    OTHER = "R99"


ERROR_CODE_TITLES = MappingProxyType(
    {
        ErrorCode.WRONG_VALUE: "欄位內容有誤",
        ErrorCode.MISSING_RECORD: "缺少應有的紀錄",
        ErrorCode.DUPLICATE: "紀錄重複",
        ErrorCode.NOT_MINE: "不是我的紀錄",
        ErrorCode.ATTACHMENT: "附件或連結有誤",
        ErrorCode.OTHER: "其他",
    }
)
ANSWER_TITLES = MappingProxyType(
    {
        ReportAnswer.CORRECT_AS_RECEIVED: "經查資料無誤",
        ReportAnswer.WILL_FIX_AND_RESUBMIT: "學校將修正後重新提交",
    }
)


class UnmatchedEntry(BaseModel):
    file: str
    kind: str
    position: int = Field(description="the entry's place (1-based) in the file's student list")
    reason: str = Field(description="no_student | birth_date_unreadable")


class ImportPublic(BaseModel):
    id: uuid.UUID
    academic_year: int
    semester: int
    filename: str
    roster_kinds: list[str]
    content_hash: str
    counts: dict[str, Any]
    unmatched: list[UnmatchedEntry]
    imported_by: uuid.UUID | None
    imported_at: datetime
    already_imported: bool = Field(
        default=False, description="true when this package was imported before: nothing changed"
    )


class ImportList(BaseModel):
    items: list[ImportPublic]


class WindowRequest(BaseModel):
    opens_at: AwareDatetime
    closes_at: AwareDatetime


class WindowPublic(BaseModel):
    academic_year: int
    semester: int
    opens_at: datetime
    closes_at: datetime
    is_open: bool


class ReportRequest(BaseModel):
    record_id: uuid.UUID
    error_code: ErrorCode
    comment: str = Field(min_length=1, max_length=2000)


class AnswerRequest(BaseModel):
    answer: ReportAnswer
    text: str = Field(min_length=1, max_length=2000)


class ReportPublic(BaseModel):
    id: uuid.UUID
    academic_year: int
    semester: int
    student_id: uuid.UUID
    student_no: str | None = None
    student_name: str | None = None
    class_code: str | None
    record_id: uuid.UUID
    kind: str
    roster_code: str | None
    sheet: str
    received: dict[str, Any] | None = Field(
        default=None, description="the reported record's fields as the central database has them"
    )
    error_code: str
    error_title: str
    comment: str
    status: ReportStatus
    created_at: datetime
    answer: ReportAnswer | None
    answer_title: str | None
    answer_text: str | None
    answered_at: datetime | None
    overdue: bool = Field(description="still open after the confirmation window closed")


class ReportList(BaseModel):
    items: list[ReportPublic]
    window: WindowPublic | None


class ComparedRecordPublic(BaseModel):
    record_id: uuid.UUID
    sheet: str
    status: str = Field(description="same | different | not_submitted")
    received: dict[str, Any]
    submitted: dict[str, Any] | None
    differences: list[str]


class ComparedSheetPublic(BaseModel):
    sheet: str
    records: list[ComparedRecordPublic]
    missing: list[dict[str, Any]] = Field(description="submitted rows the receipt does not have")


class RosterReceipt(BaseModel):
    kind: str
    roster_code: str | None
    submission_id: uuid.UUID | None
    sheets: list[ComparedSheetPublic]


class MyReceipt(BaseModel):
    academic_year: int
    semester: int
    window: WindowPublic | None
    confirmed_at: datetime | None
    status: str = Field(description="confirmed | reported | silent")
    rosters: list[RosterReceipt]
    reports: list[ReportPublic]


class ConfirmationPublic(BaseModel):
    academic_year: int
    semester: int
    confirmed_at: datetime


class ClassStatus(BaseModel):
    class_code: str
    students: int
    confirmed: int
    reported: int
    silent: int


class StatusList(BaseModel):
    academic_year: int
    semester: int
    items: list[ClassStatus]
