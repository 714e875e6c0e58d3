"""Performances' tables. Every tenant-owned row carries `school_code`.

People and classes come from the kit's read model of identity (`licheng.kit.roster`): this
service knows students by UUID, 學號, class and 座號, never by 身分證號.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
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


class Category(StrEnum):
    """The seed's eight categories plus the two further central sheets (docs/domain.md §1.6)."""

    CADRE = "cadre"  # 幹部經歷
    COMPETITION = "competition"  # 競賽參與
    CERTIFICATE = "certificate"  # 檢定證照
    SERVICE = "service"  # 志工服務
    FLEXIBLE = "flexible"  # 彈性學習
    WORKPLACE = "workplace"  # 職場學習
    WORK = "work"  # 作品成果
    OTHER = "other"  # 其他活動
    GROUP_ACTIVITY = "group_activity"  # 團體活動時間
    ADVANCED_COURSE = "advanced_course"  # 大學及技專校院先修課程


class Origin(StrEnum):
    SELF = "self"  # 學生自填
    IMPORTED = "imported"  # 多元項目管理者 batch import; the student attaches proof


_PERFORMANCE_VERSION = version_column()


class Performance(SQLModel, table=True):
    """One 多元表現 record of a student (學生自填多元表現, 名冊 25)."""

    __tablename__ = "performance"
    __table_args__ = (
        sa.Index("ix_performance_school_year_student", "school_code", "academic_year",
                 "student_id"),
        sa.UniqueConstraint("school_code", "import_key"),
    )  # fmt: skip
    __mapper_args__ = {"version_id_col": _PERFORMANCE_VERSION}

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    student_id: uuid.UUID = Field(index=True)
    academic_year: int
    category: Category = Field(sa_column=enum_column(Category, length=20))
    origin: Origin = Field(sa_column=enum_column(Origin, length=10))
    # The category's own fields (categories.py), JSON-safe: dates as ISO strings.
    fields: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    certificate_code: str | None = Field(default=None, max_length=40)
    brief: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    video_url: str | None = Field(default=None, max_length=500)
    selected: bool = False
    # Imported records: a hash of (student, year, category, fields) so a re-import is a no-op.
    import_key: str | None = Field(default=None, max_length=64)
    version: int = Field(default=1, sa_column=_PERFORMANCE_VERSION)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class PerformanceFile(SQLModel, table=True):
    """A proof file of a record, stored in S3 under `<school>/<student>/<record>/<sha256>`."""

    __tablename__ = "performance_file"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    performance_id: uuid.UUID = Field(foreign_key="performance.id", index=True)
    object_key: str = Field(max_length=200, index=True)  # what keeps the object (sweep)
    sha256: str = Field(max_length=64)
    size: int
    kind: str = Field(max_length=10)
    filename: str = Field(max_length=200)  # shown to people; never part of the object key
    uploaded_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class Cadre(SQLModel, table=True):
    """A 校內幹部 record registered by the school (名冊 24): no proof, never counted, read-only
    for the student."""

    __tablename__ = "cadre"
    __table_args__ = (
        sa.UniqueConstraint("school_code", "student_id", "academic_year", "semester",
                            "unit_name", "role_title"),
        sa.Index("ix_cadre_school_year", "school_code", "academic_year", "semester"),
    )  # fmt: skip

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    student_id: uuid.UUID = Field(index=True)
    academic_year: int
    semester: int
    unit_name: str = Field(max_length=100)  # 單位名稱
    role_title: str = Field(max_length=100)  # 擔任職務
    level: int  # 幹部等級 1 校級 / 2 班級 / 3 社團
    start_date: date
    end_date: date | None = None
    source: str = Field(max_length=10)  # import | api
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class Certificate(SQLModel, table=True):
    """An item of the school's 檢定證照 catalog (the students' dropdown)."""

    __tablename__ = "certificate"

    school_code: str = Field(primary_key=True, max_length=6)
    code: str = Field(primary_key=True, max_length=40)  # 證照代碼
    name: str = Field(max_length=200)  # 證照名稱
    category: str | None = Field(default=None, max_length=100)  # 證照類別
    issuer: str | None = Field(default=None, max_length=200)  # 發照單位
    domestic: bool = True  # 國內 / 國外
    active: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


_PARAMETERS_VERSION = version_column()


class PerformanceParameters(SQLModel, table=True):
    """多元表現 參數設定 of one school and academic year."""

    __tablename__ = "performance_parameters"
    __mapper_args__ = {"version_id_col": _PARAMETERS_VERSION}

    school_code: str = Field(primary_key=True, max_length=6)
    academic_year: int = Field(primary_key=True)
    fill_from: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    fill_until: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    select_from: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    select_until: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    selections_per_year: int = 10
    files_per_record: int = 3
    brief_max_chars: int = 100
    # {"pdf": 4194304, ...}: allowed kinds and their byte limits.
    file_limits: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    version: int = Field(default=1, sa_column=_PARAMETERS_VERSION)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class RosterLock(SQLModel, table=True):
    """A submitted 名冊 (24 per semester, 25 per year with semester 0): edits answer 423."""

    __tablename__ = "roster_lock"

    school_code: str = Field(primary_key=True, max_length=6)
    roster_code: str = Field(primary_key=True, max_length=2)
    academic_year: int = Field(primary_key=True)
    semester: int = Field(primary_key=True)
    submission_id: uuid.UUID
    locked: bool = True
    locked_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    reopened_at: datetime | None = Field(default=None, sa_column=tz_datetime_column(nullable=True))
    reopened_by: uuid.UUID | None = None
    reopen_reason: str | None = Field(default=None, max_length=500)
