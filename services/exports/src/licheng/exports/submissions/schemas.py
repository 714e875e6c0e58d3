"""What the submissions and jobs API takes and answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from licheng.contracts.rosters import RosterCode


class RosterTermRequest(BaseModel):
    """Which 名冊 and term to submit or pre-check."""

    roster_code: RosterCode = Field(description="24 校內幹部經歷, 25 多元表現, 26 課程學習成果")
    academic_year: int = Field(ge=100, le=200, description="學年度（民國）")
    semester: int = Field(
        default=0, ge=0, le=2, description="學期 1 或 2；名冊 25 為學年名冊，填 0 或省略"
    )


class JobPublic(BaseModel):
    """An export job and how far it is."""

    id: uuid.UUID
    kind: str
    roster_code: str
    academic_year: int
    semester: int
    state: str = Field(description="queued | running | done | failed")
    done: int
    total: int
    percent: int
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    problem_count: int | None = Field(default=None, description="預檢 only: problems found")


class SubmissionPublic(BaseModel):
    """One run of a 名冊 submission."""

    id: uuid.UUID
    roster_code: str
    roster_title: str
    academic_year: int
    semester: int
    state: str = Field(description="requested | building | completed | failed")
    requested_by: uuid.UUID | None
    requested_at: datetime
    locked_at: datetime | None
    high_water_mark: int | None
    finished_at: datetime | None
    failure_code: str | None
    failure_reason: str | None
    counts: dict[str, Any]
    content_hash: str | None
    reopened_at: datetime | None
    job: JobPublic | None = None


class SubmissionList(BaseModel):
    items: list[SubmissionPublic]


class DownloadLink(BaseModel):
    """A short-lived link to the package."""

    url: str
    expires_at: datetime
    filename: str
    content_hash: str


class Problem(BaseModel):
    """One problem the 預檢 found."""

    code: str
    message: str
    sheet: str | None
    row: int | None
    record_id: uuid.UUID | None
    student_id: uuid.UUID
    student_no: str | None
    name: str | None
    class_code: str | None
    seat_no: int | None


class PrecheckReport(BaseModel):
    job: JobPublic
    counts: dict[str, Any]
    problems: list[Problem]
