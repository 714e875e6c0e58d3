"""Guidance's tables. Every tenant-owned row carries `school_code`.

People and classes come from the kit's read model of identity (`licheng.kit.roster`). These
records stay at school: none of them is ever part of a central-database 名冊.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from licheng.kit.db import enum_column, version_column
from licheng.kit.roster import KnownClass as KnownClass
from licheng.kit.roster import KnownPerson as KnownPerson
from licheng.kit.roster import KnownRoles as KnownRoles
from licheng.kit.roster import PersonKind as PersonKind
from licheng.kit.timeutil import tz_datetime_column, utcnow


class CounselingMode(StrEnum):
    INDIVIDUAL = "individual"  # 個別
    GROUP = "group"  # 團體


_RECORD_VERSION = version_column()


class CounselingRecord(SQLModel, table=True):
    """One 課程諮詢紀錄 by a 課程諮詢教師: individual (one student) or group (several, a class)."""

    __tablename__ = "counseling_record"
    __table_args__ = (sa.Index("ix_counseling_record_school_held", "school_code", "held_on"),)
    __mapper_args__ = {"version_id_col": _RECORD_VERSION}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    counselor_id: uuid.UUID = Field(index=True)
    held_on: date  # 諮詢日期
    mode: CounselingMode = Field(sa_column=enum_column(CounselingMode, length=12))
    class_code: str | None = Field(default=None, max_length=20)  # a whole class, when group
    topic: str = Field(max_length=200)  # 諮詢主題
    content: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))  # 諮詢內容
    follow_up: str | None = Field(default=None, sa_column=sa.Column(sa.Text()))  # 後續追蹤
    version: int = Field(default=1, sa_column=_RECORD_VERSION)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class CounselingParticipant(SQLModel, table=True):
    """A student a record is about; a group record lists each of them."""

    __tablename__ = "counseling_participant"

    record_id: uuid.UUID = Field(foreign_key="counseling_record.id", primary_key=True)
    student_id: uuid.UUID = Field(primary_key=True, index=True)
    school_code: str = Field(max_length=6, index=True)


class CounselingAttachment(SQLModel, table=True):
    """The record's optional attachment, in S3 under `<school>/<counselor>/<record>/<sha256>`."""

    __tablename__ = "counseling_attachment"

    record_id: uuid.UUID = Field(foreign_key="counseling_record.id", primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    object_key: str = Field(max_length=200, index=True)  # what keeps the object (sweep)
    sha256: str = Field(max_length=64)
    size: int
    kind: str = Field(max_length=10)
    filename: str = Field(max_length=200)
    uploaded_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class WritingKind(StrEnum):
    AUTOBIOGRAPHY = "autobiography"  # 自傳
    STUDY_PLAN = "study_plan"  # 學習計畫


_WRITING_VERSION = version_column()


class Writing(SQLModel, table=True):
    """A student's 自傳 or 學習計畫: the current text; every saved version is kept beside it."""

    __tablename__ = "writing"
    __table_args__ = (sa.UniqueConstraint("school_code", "student_id", "kind"),)
    __mapper_args__ = {"version_id_col": _WRITING_VERSION}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    student_id: uuid.UUID = Field(index=True)
    kind: WritingKind = Field(sa_column=enum_column(WritingKind, length=20))
    text: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    version: int = Field(default=1, sa_column=_WRITING_VERSION)  # = the latest version number
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class WritingVersion(SQLModel, table=True):
    """One saved version of a writing, never changed afterwards."""

    __tablename__ = "writing_version"

    writing_id: uuid.UUID = Field(foreign_key="writing.id", primary_key=True)
    number: int = Field(primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    text: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    file_key: str | None = Field(default=None, max_length=200, index=True)  # optional PDF
    file_sha256: str | None = Field(default=None, max_length=64)
    file_size: int | None = None
    file_name: str | None = Field(default=None, max_length=200)
    saved_by: uuid.UUID
    saved_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


_PARAMETERS_VERSION = version_column()


class GuidanceParameters(SQLModel, table=True):
    """The school's editing window for 自傳 and 學習計畫 (none set: always open)."""

    __tablename__ = "guidance_parameters"
    __mapper_args__ = {"version_id_col": _PARAMETERS_VERSION}

    school_code: str = Field(primary_key=True, max_length=6)
    write_from: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    write_until: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    max_chars: int = 3000
    version: int = Field(default=1, sa_column=_PARAMETERS_VERSION)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
