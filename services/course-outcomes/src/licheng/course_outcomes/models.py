"""Course-outcomes' tables. Every tenant-owned row carries `school_code`.

`known_person`, `known_class` and `known_roles` are the kit's read model of identity's events
(`licheng.kit.roster`): this service knows students and teachers by UUID, 學號/教師編號, class
and 座號, never by 身分證號.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from licheng.kit.db import enum_column, version_column
from licheng.kit.roster import KnownClass as KnownClass
from licheng.kit.roster import KnownPerson as KnownPerson
from licheng.kit.roster import KnownRoles as KnownRoles
from licheng.kit.roster import PersonKind as PersonKind
from licheng.kit.timeutil import tz_datetime_column, utcnow


class CourseSection(SQLModel, table=True):
    """One course taught by one teacher in one term (from the 修課紀錄 import)."""

    __tablename__ = "course_section"
    __table_args__ = (
        sa.UniqueConstraint(
            "school_code", "academic_year", "semester", "course_code", "teacher_no"
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    academic_year: int
    semester: int
    course_code: str = Field(max_length=23)
    subject_name: str = Field(max_length=100)
    credits: int
    grade: int
    teacher_no: str = Field(max_length=32)
    teacher_id: uuid.UUID | None = Field(default=None, index=True)
    # The certifying teacher: the 授課教師 unless reassigned (更換認證教師).
    certifier_id: uuid.UUID | None = Field(default=None, index=True)


class Enrolment(SQLModel, table=True):
    """A student's 修課紀錄 row in a section."""

    __tablename__ = "enrolment"
    __table_args__ = (sa.UniqueConstraint("section_id", "student_no", "kind"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    section_id: uuid.UUID = Field(foreign_key="course_section.id", index=True)
    student_no: str = Field(max_length=32)
    student_id: uuid.UUID | None = Field(default=None, index=True)
    kind: str = Field(max_length=10)  # 學期課程 / 補修 / 重修 / 重讀
    original_academic_year: int | None = None
    original_semester: int | None = None
    retake_method: str | None = Field(default=None, max_length=20)


_PARAMETERS_VERSION = version_column()


class OutcomeParameters(SQLModel, table=True):
    """參數設定 of one school and term."""

    __tablename__ = "outcome_parameters"
    __mapper_args__ = {"version_id_col": _PARAMETERS_VERSION}  # conditional UPDATE on every flush

    school_code: str = Field(primary_key=True, max_length=6)
    academic_year: int = Field(primary_key=True)
    semester: int = Field(primary_key=True)
    upload_from: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    upload_until: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    certify_from: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    certify_until: datetime | None = Field(
        default=None, sa_column=tz_datetime_column(nullable=True)
    )
    select_from: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    select_until: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    uploads_per_semester: int = 10
    selections_per_semester: int = 3
    files_per_outcome: int = 2
    brief_max_chars: int = 100
    # {"pdf": 4194304, ...}: allowed kinds and their byte limits.
    file_limits: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    version: int = Field(default=1, sa_column=_PARAMETERS_VERSION)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class OutcomeType(StrEnum):
    WORK = "實作作品"
    REPORT = "書面報告"
    OTHER = "其他"


class OutcomeStatus(StrEnum):
    DRAFT = "draft"  # 未送審 (new, edited after a failure, or after a revoked certification)
    SUBMITTED = "submitted"  # 認證中
    CERTIFIED = "certified"  # 認證成功
    FAILED = "failed"  # 認證失敗


class FailReason(StrEnum):
    """The reason codes a teacher must pick when failing an outcome (docs/domain.md §1.5)."""

    OFF_TOPIC = "01"  # 非本課程相關主題成果，無法認證
    UNVERIFIABLE = "02"  # 無法查證成果可信度
    INACCURATE = "03"  # 請加強成果內容正確性
    THIN = "04"  # 請增加成果內容豐富度


class FileSlot(StrEnum):
    DOCUMENT = "document"  # pdf / jpg / png
    MEDIA = "media"  # mp3 / mp4


class Outcome(SQLModel, table=True):
    """One 課程學習成果 of a student for one enrolment."""

    __tablename__ = "outcome"
    __table_args__ = (
        sa.Index("ix_outcome_school_term_status", "school_code", "academic_year", "semester",
                 "status"),
    )  # fmt: skip

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    academic_year: int
    semester: int
    student_id: uuid.UUID = Field(index=True)
    enrolment_id: uuid.UUID = Field(foreign_key="enrolment.id", index=True)
    section_id: uuid.UUID = Field(foreign_key="course_section.id", index=True)
    certifier_id: uuid.UUID | None = Field(default=None, index=True)
    outcome_type: OutcomeType = Field(sa_column=enum_column(OutcomeType, length=10))
    brief: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    video_url: str | None = Field(default=None, max_length=500)
    status: OutcomeStatus = Field(sa_column=enum_column(OutcomeStatus, length=12))
    fail_reason: FailReason | None = Field(
        default=None, sa_column=enum_column(FailReason, nullable=True, length=2)
    )
    fail_explanation: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))
    decided_by: uuid.UUID | None = None
    decided_at: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    submitted_at: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    selected: bool = False
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class OutcomeFile(SQLModel, table=True):
    """A file of an outcome, stored in S3 under `<school>/<student>/<outcome>/<sha256>`.

    An outcome holds at most the parameters' `files_per_outcome` files; `slot` is the file's
    family (document or media), decided by its content.
    """

    __tablename__ = "outcome_file"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    outcome_id: uuid.UUID = Field(foreign_key="outcome.id", index=True)
    slot: FileSlot = Field(sa_column=enum_column(FileSlot, length=10))
    object_key: str = Field(max_length=200, index=True)  # what keeps the object (sweep)
    sha256: str = Field(max_length=64)
    size: int
    kind: str = Field(max_length=10)
    filename: str = Field(max_length=200)  # shown to people; never part of the object key
    uploaded_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class TermLock(SQLModel, table=True):
    """A term whose course outcomes were submitted (提交): student edits answer 423."""

    __tablename__ = "term_lock"

    school_code: str = Field(primary_key=True, max_length=6)
    academic_year: int = Field(primary_key=True)
    semester: int = Field(primary_key=True)
    submission_id: uuid.UUID
    locked: bool = True
    locked_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    reopened_at: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    reopened_by: uuid.UUID | None = None


class CertifierDelegation(SQLModel, table=True):
    """A 代理人: a teacher lets a colleague see and certify their queue for a time range."""

    __tablename__ = "certifier_delegation"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    teacher_id: uuid.UUID = Field(index=True)
    substitute_id: uuid.UUID = Field(index=True)
    starts_at: datetime = Field(sa_column=tz_datetime_column())
    ends_at: datetime = Field(sa_column=tz_datetime_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    ended_early_at: datetime | None = Field(
        default=None, sa_column=tz_datetime_column(nullable=True)
    )
