"""Performances test fixtures: the running service on a migrated database, and a school in it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from nats.aio.client import Client as NatsClient

from licheng.contracts.events import ClassUpserted, PersonUpserted
from licheng.kit.events import ensure_streams
from licheng.kit.roster import KnownClass, KnownPerson
from licheng.performances.app import create_app
from licheng.performances.cli import MIGRATIONS_DIR
from licheng.performances.settings import Settings
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.services import ServiceApi, running_service

YEAR = 115


class PerformancesApi(ServiceApi):
    service_path = "performances"


@pytest.fixture
def perf_api_settings() -> dict[str, Any]:
    """Further settings of the service under test; a test module may override this fixture."""
    return {}


@pytest.fixture
async def perf_api(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    issuer: TestIssuer,
    nats_client: NatsClient,
    perf_api_settings: dict[str, Any],
) -> AsyncIterator[PerformancesApi]:
    url = await migrated_database(MIGRATIONS_DIR, "performances")
    await ensure_streams(nats_client.jetstream(), "identity", "exports")
    async with running_service(
        PerformancesApi,
        create_app,
        Settings,
        database_url=url,
        infra=infra,
        issuer=issuer,
        nats_client=nats_client,
        **perf_api_settings,
    ) as api:
        yield api


@dataclass
class School:
    """Students 110001 (101, 座號 1), 110002 (101, 座號 2) and 110003 (102, 座號 1); 導師 T101
    of class 101; every staff role on its own person."""

    PDF: ClassVar[bytes] = (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(2000)
    )
    api: PerformancesApi
    students: dict[str, uuid.UUID]
    homeroom_teacher: uuid.UUID
    staff: dict[str, uuid.UUID] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """The school's API prefix."""
        return self.api.base

    def student(self, student_no: str = "110001") -> dict[str, str]:
        """Headers of a student."""
        return self.api.as_roles("student", person_id=self.students[student_no])

    def homeroom(self) -> dict[str, str]:
        """Headers of the 導師 of class 101."""
        return self.api.as_roles("homeroom_teacher", person_id=self.homeroom_teacher)

    def as_role(self, role: str) -> dict[str, str]:
        """Headers of the school's holder of `role` (one person per role)."""
        person = self.staff.setdefault(role, uuid.uuid4())
        return self.api.as_roles(role, person_id=person)

    async def open_windows(self, **overrides: Any) -> dict[str, Any]:
        """Patch the year's parameters so the fill and 勾選 windows are open now."""
        now = datetime.now(UTC)
        body = {"fill_from": (now - timedelta(days=1)).isoformat(),
                "fill_until": (now + timedelta(days=30)).isoformat(),
                "select_from": (now - timedelta(days=1)).isoformat(),
                "select_until": (now + timedelta(days=40)).isoformat(), **overrides}  # fmt: skip
        response = await self.api.client.patch(
            f"{self.base}/parameters/{YEAR}",
            json=body,
            headers={**self.as_role("performance_submitter"),
                     "content-type": "application/merge-patch+json"},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


@pytest.fixture
async def school(perf_api: PerformancesApi) -> School:
    """A school whose people and classes identity has announced (no windows opened yet)."""
    api = perf_api
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
    teacher = uuid.uuid4()
    await api.publish(
        PersonUpserted(person_id=teacher, kind="staff", local_no="T101", name="陳導師",
                       username="t101")
    )  # fmt: skip
    for class_code, homeroom in (("101", teacher), ("102", None)):
        await api.publish(
            ClassUpserted(class_id=uuid.uuid4(), class_code=class_code, grade=1,
                          homeroom_person_id=homeroom)
        )  # fmt: skip

    async def ready() -> bool:
        return await api.count(KnownPerson) == 4 and await api.count(KnownClass) == 2

    await api.eventually(ready, "the roster")
    return School(api=api, students=students, homeroom_teacher=teacher)
