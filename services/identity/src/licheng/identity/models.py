"""Identity's tables. Every tenant-owned row carries `school_code`."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from licheng.contracts.people import EnrolmentStatus
from licheng.kit.db import enum_column, version_column
from licheng.kit.timeutil import tz_datetime_column, utcnow


class PersonKind(StrEnum):
    STUDENT = "student"
    STAFF = "staff"


class Audience(StrEnum):
    ALL = "all"
    STUDENTS = "students"
    STAFF = "staff"


class School(SQLModel, table=True):
    __tablename__ = "school"

    code: str = Field(primary_key=True, max_length=6)
    name: str = Field(max_length=100)
    academic_year: int
    semester: int
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


_PERSON_VERSION = version_column()


class Person(SQLModel, table=True):
    """A student or a staff member of one school."""

    __tablename__ = "person"
    __mapper_args__ = {"version_id_col": _PERSON_VERSION}  # conditional UPDATE on every flush
    __table_args__ = (sa.UniqueConstraint("school_code", "kind", "local_no"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True, foreign_key="school.code")
    kind: PersonKind = Field(sa_column=enum_column(PersonKind, length=10))
    local_no: str = Field(max_length=20)  # 學號 or 教師編號
    name: str = Field(max_length=100)
    username: str = Field(max_length=100, unique=True)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=200)
    class_code: str | None = Field(default=None, max_length=20, index=True)
    seat_no: int | None = None
    status: EnrolmentStatus | None = Field(
        default=None, sa_column=enum_column(EnrolmentStatus, nullable=True, length=10)
    )
    national_id_enc: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary()))
    national_id_index: str | None = Field(default=None, max_length=64, index=True)
    birth_date_enc: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary()))
    version: int = Field(default=1, sa_column=_PERSON_VERSION)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class SchoolClass(SQLModel, table=True):
    __tablename__ = "school_class"
    __table_args__ = (sa.UniqueConstraint("school_code", "class_code"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True, foreign_key="school.code")
    class_code: str = Field(max_length=20)
    grade: int
    name: str | None = Field(default=None, max_length=50)
    homeroom_person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id")


class RoleGrant(SQLModel, table=True):
    __tablename__ = "role_grant"
    __table_args__ = (sa.UniqueConstraint("school_code", "person_id", "role"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True, foreign_key="school.code")
    person_id: uuid.UUID = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=40)
    granted_by: uuid.UUID | None = None
    granted_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


_ANNOUNCEMENT_VERSION = version_column()


class Announcement(SQLModel, table=True):
    __tablename__ = "announcement"
    __mapper_args__ = {"version_id_col": _ANNOUNCEMENT_VERSION}  # conditional UPDATE on every flush

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    school_code: str = Field(max_length=6, index=True, foreign_key="school.code")
    title: str = Field(max_length=200)
    body: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    audience: Audience = Field(sa_column=enum_column(Audience, length=10))
    publish_from: datetime = Field(sa_column=tz_datetime_column())
    publish_until: datetime | None = Field(
        default=None, sa_column=tz_datetime_column(nullable=True)
    )
    created_by: uuid.UUID | None = None
    version: int = Field(default=1, sa_column=_ANNOUNCEMENT_VERSION)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
