"""Events identity publishes: schools, people, classes, role grants."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import Field

from licheng.contracts.events.envelope import EventPayload


class SchoolCreated(EventPayload):
    event_type: ClassVar[str] = "identity.school.created"
    summary: ClassVar[str] = "The district operator created a school."

    school_code: str
    name: str
    academic_year: int = Field(description="the school's current 學年度")
    semester: int


class PersonUpserted(EventPayload):
    event_type: ClassVar[str] = "identity.person.upserted"
    summary: ClassVar[str] = "A student or staff member was created or changed (never 身分證號)."

    person_id: uuid.UUID
    kind: Literal["student", "staff"]
    local_no: str = Field(description="學號 or 教師編號")
    name: str
    username: str
    class_code: str | None = None
    seat_no: int | None = None
    status: str | None = Field(default=None, description="在籍狀態 (students)")


class ClassUpserted(EventPayload):
    event_type: ClassVar[str] = "identity.class.upserted"
    summary: ClassVar[str] = "A class was created or changed, e.g. a new 導師."

    class_id: uuid.UUID
    class_code: str
    grade: int | None = None
    name: str | None = None
    homeroom_person_id: uuid.UUID | None = None
    previous_homeroom_person_id: uuid.UUID | None = None


class GrantChanged(EventPayload):
    event_type: ClassVar[str] = "identity.grant.changed"
    summary: ClassVar[str] = "A role was granted or revoked; `roles` are the person's roles now."

    person_id: uuid.UUID
    role: str
    change: Literal["granted", "revoked"]
    roles: list[str]
