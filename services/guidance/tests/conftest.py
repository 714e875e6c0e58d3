"""Guidance test fixtures: the running service on a migrated database, and a school in it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
from nats.aio.client import Client as NatsClient

from licheng.contracts.events import ClassUpserted, PersonUpserted
from licheng.guidance.app import create_app
from licheng.guidance.cli import MIGRATIONS_DIR
from licheng.guidance.settings import Settings
from licheng.kit.events import ensure_streams
from licheng.kit.roster import KnownClass, KnownPerson
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.services import ServiceApi, running_service


class GuidanceApi(ServiceApi):
    service_path = "guidance"


@pytest.fixture
async def guidance_api(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    issuer: TestIssuer,
    nats_client: NatsClient,
) -> AsyncIterator[GuidanceApi]:
    url = await migrated_database(MIGRATIONS_DIR, "guidance")
    await ensure_streams(nats_client.jetstream(), "identity")
    async with running_service(
        GuidanceApi,
        create_app,
        Settings,
        database_url=url,
        infra=infra,
        issuer=issuer,
        nats_client=nats_client,
    ) as api:
        yield api


@dataclass
class School:
    """Students 110001 (101, 座號 1), 110002 (101, 座號 2), 110003 (102, 座號 1); 導師 T101 of
    class 101 and T102 of class 102; counselors C1 and C2; an admin."""

    PDF: ClassVar[bytes] = (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(2000)
    )
    api: GuidanceApi
    students: dict[str, uuid.UUID]
    homeroom_teachers: dict[str, uuid.UUID]  # class code → 導師
    staff: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """The school's API prefix."""
        return self.api.base

    def student(self, student_no: str = "110001") -> dict[str, str]:
        """Headers of a student."""
        return self.api.as_roles("student", person_id=self.students[student_no])

    def homeroom(self, class_code: str = "101") -> dict[str, str]:
        """Headers of the 導師 of a class."""
        return self.api.as_roles("homeroom_teacher", person_id=self.homeroom_teachers[class_code])

    def counselor(self, which: str = "C1") -> dict[str, str]:
        """Headers of counselor C1 or C2."""
        return self.as_role("counselor", who=which)

    def as_role(self, role: str, *, who: str | None = None) -> dict[str, str]:
        """Headers of the school's holder of `role` (one person per name)."""
        person = self.staff.setdefault(who or role, uuid.uuid4())
        return self.api.as_roles(role, person_id=person)


@pytest.fixture
async def school(guidance_api: GuidanceApi) -> School:
    """A school whose people and classes identity has announced."""
    api = guidance_api
    people = [("110001", "林同學", "101", 1), ("110002", "吳同學", "101", 2),
              ("110003", "張同學", "102", 1)]  # fmt: skip
    students: dict[str, uuid.UUID] = {}
    for local_no, name, class_code, seat in people:
        students[local_no] = uuid.uuid4()
        await api.publish(
            PersonUpserted(person_id=students[local_no], kind="student", local_no=local_no,
                           name=name, username=f"s{local_no}", class_code=class_code,
                           seat_no=seat, status="在籍")
        )  # fmt: skip
    teachers = {"101": uuid.uuid4(), "102": uuid.uuid4()}
    for class_code, teacher in teachers.items():
        await api.publish(
            PersonUpserted(person_id=teacher, kind="staff", local_no=f"T{class_code}",
                           name=f"導師{class_code}", username=f"t{class_code}")
        )  # fmt: skip
        await api.publish(
            ClassUpserted(class_id=uuid.uuid4(), class_code=class_code, grade=1,
                          homeroom_person_id=teacher)
        )  # fmt: skip

    async def ready() -> bool:
        return await api.count(KnownPerson) == 5 and await api.count(KnownClass) == 2

    await api.eventually(ready, "the roster")
    return School(api=api, students=students, homeroom_teachers=teachers)
