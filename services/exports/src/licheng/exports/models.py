"""The exports database: the read model of what the rosters hold, submissions and jobs.

The read model (`rm_*`) is built only from the other services' events: people and classes come
from identity through the kit's read model (`known_person`, `known_class`), outcomes and
selections from course-outcomes, records, cadres and the certificate catalog from performances.
It never holds a 身分證號 or a birth date: those are fetched per job from identity and kept in
memory for that job only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from licheng.kit.db import enum_column
from licheng.kit.timeutil import tz_datetime_column, utcnow


def _json(nullable: bool = False) -> Any:
    return sa.Column(sa.JSON(), nullable=nullable)


class OutcomeRow(SQLModel, table=True):
    """A 課程學習成果 as course-outcomes last announced it (deleted ones are removed)."""

    __tablename__ = "rm_outcome"
    __table_args__ = (sa.Index("ix_rm_outcome_term", "school_code", "academic_year", "semester"),)

    outcome_id: uuid.UUID = Field(primary_key=True)
    school_code: str = Field(max_length=6)
    student_id: uuid.UUID = Field(index=True)
    academic_year: int
    semester: int
    status: str = Field(max_length=20)
    outcome_type: str = Field(max_length=20)
    brief: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    video_url: str | None = Field(default=None, max_length=500)
    certifier_id: uuid.UUID | None = None
    selected: bool = False
    course_code: str | None = Field(default=None, max_length=40)
    subject_name: str | None = Field(default=None, max_length=100)
    credits: int | None = None
    grade: int | None = None
    files: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class PerformanceRow(SQLModel, table=True):
    """A 多元表現 record as performances last announced it (deleted ones are removed)."""

    __tablename__ = "rm_performance"
    __table_args__ = (sa.Index("ix_rm_performance_year", "school_code", "academic_year"),)

    performance_id: uuid.UUID = Field(primary_key=True)
    school_code: str = Field(max_length=6)
    student_id: uuid.UUID = Field(index=True)
    academic_year: int
    category: str = Field(max_length=20)
    origin: str = Field(max_length=10)
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    brief: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    video_url: str | None = Field(default=None, max_length=500)
    selected: bool = False
    files: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class CadreRow(SQLModel, table=True):
    """A 校內幹部 record as performances last announced it (removed ones are removed)."""

    __tablename__ = "rm_cadre"
    __table_args__ = (sa.Index("ix_rm_cadre_term", "school_code", "academic_year", "semester"),)

    cadre_id: uuid.UUID = Field(primary_key=True)
    school_code: str = Field(max_length=6)
    student_id: uuid.UUID = Field(index=True)
    academic_year: int
    semester: int
    unit_name: str = Field(max_length=100)
    role_title: str = Field(max_length=100)
    level: int
    start_date: str = Field(max_length=10)  # ISO
    end_date: str | None = Field(default=None, max_length=10)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class CertificateRow(SQLModel, table=True):
    """An item of a school's 檢定證照 catalog, for the 檢定證照紀錄 sheet's named columns."""

    __tablename__ = "rm_certificate"

    school_code: str = Field(primary_key=True, max_length=6)
    code: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    category: str | None = Field(default=None, max_length=100)
    issuer: str | None = Field(default=None, max_length=200)
    domestic: bool = True
    active: bool = True


class SubmissionState(StrEnum):
    REQUESTED = "requested"  # waiting for the owner to lock
    BUILDING = "building"  # locked and caught up; the roster job runs
    COMPLETED = "completed"
    FAILED = "failed"


IN_FLIGHT_CONDITION = "state IN ('requested', 'building')"


class Submission(SQLModel, table=True):
    """One run of a 名冊 submission (提交) saga; every run is kept."""

    __tablename__ = "submission"
    __table_args__ = (
        sa.Index("ix_submission_term", "school_code", "roster_code", "academic_year", "semester"),
        # At most one run of a 名冊 and term in flight: a racing second request fails here.
        sa.Index(
            "uq_submission_in_flight",
            "school_code",
            "roster_code",
            "academic_year",
            "semester",
            unique=True,
            postgresql_where=sa.text(IN_FLIGHT_CONDITION),
            sqlite_where=sa.text(IN_FLIGHT_CONDITION),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6)
    roster_code: str = Field(max_length=4)
    academic_year: int
    semester: int
    state: SubmissionState = Field(sa_column=enum_column(SubmissionState, length=12))
    requested_by: uuid.UUID | None = None
    requested_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    locked_at: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    high_water_mark: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger()))
    job_id: uuid.UUID | None = None
    finished_at: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    failure_code: str | None = Field(default=None, max_length=40)
    failure_reason: str | None = Field(default=None, max_length=500)
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    content_hash: str | None = Field(default=None, max_length=64)
    object_key: str | None = Field(default=None, max_length=200, index=True)
    reopened_at: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    reopened_by: uuid.UUID | None = None


class JobKind(StrEnum):
    ROSTER = "roster"  # builds a submission's 名冊 ZIP
    PRECHECK = "precheck"  # 預檢: lists every problem by sheet and row


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ExportJob(SQLModel, table=True):
    """A job on the `EXPORT_JOBS` work queue: its progress, its state and what it made."""

    __tablename__ = "export_job"
    __table_args__ = (
        sa.Index("ix_export_job_term", "school_code", "roster_code", "academic_year", "semester"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6)
    kind: JobKind = Field(sa_column=enum_column(JobKind, length=10))
    roster_code: str = Field(max_length=4)
    academic_year: int
    semester: int
    submission_id: uuid.UUID | None = None
    state: JobState = Field(sa_column=enum_column(JobState, length=10))
    done: int = 0
    total: int = 0
    attempts: int = 0
    requested_by: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    started_at: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    finished_at: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    error: str | None = Field(default=None, max_length=500)
    result: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    object_key: str | None = Field(default=None, max_length=200)
    content_hash: str | None = Field(default=None, max_length=64)


class SubmittedRecord(SQLModel, table=True):
    """One row of a completed submission's 名冊, per student, kept to compare with 收訖明細.

    The fields are the sheet's columns after 身分證號 and 出生日期 (which are never kept).
    """

    __tablename__ = "submitted_record"
    __table_args__ = (sa.Index("ix_submitted_record_student", "submission_id", "student_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    submission_id: uuid.UUID
    school_code: str = Field(max_length=6)
    roster_code: str = Field(max_length=4)
    student_id: uuid.UUID
    sheet: str = Field(max_length=100)
    serial: int  # the row's order among the student's rows of the sheet
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=_json())


class ReceiptImport(SQLModel, table=True):
    """One imported 收訖明細 package of a school and term (學年度, 學期 as typed at import)."""

    __tablename__ = "receipt_import"
    __table_args__ = (
        # The same package imported twice is found here: the second import changes nothing.
        sa.UniqueConstraint(
            "school_code", "academic_year", "semester", "content_hash", name="uq_receipt_import"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6)
    academic_year: int
    semester: int
    content_hash: str = Field(max_length=64)  # SHA-256 of the package's verified SHA.txt lines
    filename: str = Field(max_length=200)
    roster_kinds: list[str] = Field(default_factory=list, sa_column=_json())
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=_json())
    # Entries no student matched: file, 名冊 kind and position only (never an identifier).
    unmatched: list[dict[str, Any]] = Field(default_factory=list, sa_column=_json())
    imported_by: uuid.UUID | None = None
    imported_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class ReceiptRecord(SQLModel, table=True):
    """One record of a 收訖明細, matched to a student (only matched entries are kept)."""

    __tablename__ = "receipt_record"
    __table_args__ = (
        sa.Index("ix_receipt_record_student", "school_code", "academic_year", "semester",
                 "student_id"),
    )  # fmt: skip

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    import_id: uuid.UUID = Field(index=True)
    school_code: str = Field(max_length=6)
    academic_year: int
    semester: int
    kind: str = Field(max_length=10)  # 多元表現 | 課程學習成果 | 修課紀錄 | 校內幹部經歷
    roster_code: str | None = Field(default=None, max_length=4)  # None: not a Licheng 名冊
    student_id: uuid.UUID
    sheet: str = Field(max_length=100)
    serial: int  # the record's order in the student's sheet
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=_json())


class ReceiptWindow(SQLModel, table=True):
    """The students' confirmation window of a term's 收訖明細 (at least 3 days)."""

    __tablename__ = "receipt_window"

    school_code: str = Field(primary_key=True, max_length=6)
    academic_year: int = Field(primary_key=True)
    semester: int = Field(primary_key=True)
    opens_at: datetime = Field(sa_column=tz_datetime_column())
    closes_at: datetime = Field(sa_column=tz_datetime_column())
    set_by: uuid.UUID | None = None
    set_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class ReceiptConfirmation(SQLModel, table=True):
    """A student's 「資料正確」 for a term's 收訖明細."""

    __tablename__ = "receipt_confirmation"

    school_code: str = Field(primary_key=True, max_length=6)
    academic_year: int = Field(primary_key=True)
    semester: int = Field(primary_key=True)
    student_id: uuid.UUID = Field(primary_key=True)
    confirmed_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class ReportStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class ReportAnswer(StrEnum):
    CORRECT_AS_RECEIVED = "correct_as_received"  # 資料無誤
    WILL_FIX_AND_RESUBMIT = "will_fix_and_resubmit"  # 將修正後重新提交


class ReceiptReport(SQLModel, table=True):
    """A student's report of a problem with one 收訖明細 record, and the school's answer."""

    __tablename__ = "receipt_report"
    __table_args__ = (
        sa.Index("ix_receipt_report_term", "school_code", "academic_year", "semester", "status"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6)
    academic_year: int
    semester: int
    student_id: uuid.UUID = Field(index=True)
    class_code: str | None = Field(default=None, max_length=20)
    record_id: uuid.UUID
    kind: str = Field(max_length=10)
    roster_code: str | None = Field(default=None, max_length=4)
    sheet: str = Field(max_length=100)
    error_code: str = Field(max_length=4)
    comment: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    status: ReportStatus = Field(sa_column=enum_column(ReportStatus, length=10))
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    answer: ReportAnswer | None = Field(
        default=None, sa_column=enum_column(ReportAnswer, nullable=True, length=24)
    )
    answer_text: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    answered_by: uuid.UUID | None = None
    answered_at: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
