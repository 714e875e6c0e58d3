"""Course-outcomes test fixtures: the running service on a migrated database, and a term in it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from sqlmodel import select

from licheng.contracts.events import GrantChanged, PersonUpserted
from licheng.course_outcomes.app import create_app
from licheng.course_outcomes.cli import MIGRATIONS_DIR
from licheng.course_outcomes.models import KnownPerson, Outcome
from licheng.course_outcomes.settings import Settings
from licheng.kit.events import ensure_streams
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.services import ServiceApi, running_service


class CourseApi(ServiceApi):
    service_path = "course-outcomes"

    def as_roles(self, *roles: str, person_id: uuid.UUID | None = None) -> dict[str, str]:
        """Headers of someone holding `roles` in the school (no person unless given)."""
        groups = [f"/schools/{self.school}/{r}" for r in roles]
        return self.issuer.headers(person_id=person_id, groups=groups)

    async def announce_person(
        self,
        *,
        kind: str,
        local_no: str,
        name: str,
        class_code: str | None = None,
        seat_no: int | None = None,
    ) -> uuid.UUID:
        """Publish identity's person.upserted, as identity would."""
        person_id = uuid.uuid4()
        await self.publish(
            PersonUpserted(
                person_id=person_id,
                kind="student" if kind == "student" else "staff",
                local_no=local_no,
                name=name,
                username=f"{self.school}-{local_no}".lower(),
                class_code=class_code,
                seat_no=seat_no,
                status="在籍" if kind == "student" else None,
            )
        )
        return person_id

    async def announce_roles(self, person_id: uuid.UUID, *roles: str) -> None:
        """Publish identity's grant.changed: the person's roles in the school are now `roles`."""
        await self.publish(
            GrantChanged(
                person_id=person_id,
                role=roles[-1] if roles else "course_teacher",
                change="granted" if roles else "revoked",
                roles=list(roles),
            )
        )


@pytest.fixture
def course_api_settings() -> dict[str, Any]:
    """Further settings of the service under test; a test module may override this fixture."""
    return {}


@pytest.fixture
async def course_api(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    issuer: TestIssuer,
    nats_client: NatsClient,
    course_api_settings: dict[str, Any],
) -> AsyncIterator[CourseApi]:
    url = await migrated_database(MIGRATIONS_DIR, "course_outcomes")
    await ensure_streams(nats_client.jetstream(), "identity")
    async with running_service(
        CourseApi,
        create_app,
        Settings,
        database_url=url,
        infra=infra,
        issuer=issuer,
        nats_client=nats_client,
        **course_api_settings,
    ) as api:
        yield api


@dataclass
class Term:
    """Term 115-1 of a school: two teachers, two students of class 101, two courses, open windows.

    Student 1 takes COURSE_X (teacher a) and COURSE_Y (teacher b); student 2 takes COURSE_X.
    """

    PDF: ClassVar[bytes] = (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(2000)
    )
    PNG: ClassVar[bytes] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300)
    COURSE_X: ClassVar[str] = "108011302H11101A1010101"
    COURSE_Y: ClassVar[str] = "109041305H11101B1010101"
    HEADER: ClassVar[str] = "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
    ROWS: ClassVar[tuple[str, ...]] = (
        f"115,1,110001,{COURSE_X},國語文,4,1,T001,學期課程",
        f"115,1,110002,{COURSE_X},國語文,4,1,T001,學期課程",
        f"115,1,110001,{COURSE_Y},數學,4,1,T002,學期課程",
    )

    api: CourseApi
    teacher_a: uuid.UUID
    teacher_b: uuid.UUID
    student_1: uuid.UUID
    student_2: uuid.UUID

    @property
    def base(self) -> str:
        """The school's API prefix."""
        return f"/api/course-outcomes/v1/schools/{self.api.school}"

    def student(self, which: int = 1) -> dict[str, str]:
        """Headers of student 1 or 2."""
        person = self.student_1 if which == 1 else self.student_2
        return self.api.as_roles("student", person_id=person)

    def teacher(self, which: str = "a") -> dict[str, str]:
        """Headers of teacher a (T001) or b (T002)."""
        person = self.teacher_a if which == "a" else self.teacher_b
        return self.api.as_roles("course_teacher", person_id=person)

    def submitter(self) -> dict[str, str]:
        """Headers of a 課程學習提交者."""
        return self.api.as_roles("course_submitter", person_id=uuid.uuid4())

    async def known_people(self) -> int:
        """How many people the identity read model holds."""
        async with self.api.app.state.session_factory() as session:
            return len((await session.exec(select(KnownPerson))).all())

    async def count_outcomes(self) -> int:
        """How many outcomes are stored."""
        async with self.api.app.state.session_factory() as session:
            return len((await session.exec(select(Outcome))).all())

    async def open_windows(self, **overrides: Any) -> dict[str, Any]:
        """Patch the term's parameters: upload, certify and 勾選 windows open now, unless
        overridden (any other field may be patched too); the parameters as answered."""
        now = datetime.now(UTC)
        body = {"upload_from": (now - timedelta(days=1)).isoformat(),
                "upload_until": (now + timedelta(days=30)).isoformat(),
                "certify_from": (now - timedelta(days=1)).isoformat(),
                "certify_until": (now + timedelta(days=40)).isoformat(),
                "select_from": (now - timedelta(days=1)).isoformat(),
                "select_until": (now + timedelta(days=50)).isoformat(), **overrides}  # fmt: skip
        response = await self.api.client.patch(
            f"{self.base}/parameters/115/1",
            json=body,
            headers={**self.submitter(), "content-type": "application/merge-patch+json"},
        )
        assert response.status_code == 200, response.text
        parameters: dict[str, Any] = response.json()
        return parameters

    async def courses(self, which: int = 1) -> dict[str, str]:
        """Course code → enrolment id of student 1 or 2."""
        response = await self.api.client.get(
            f"{self.base}/me/courses",
            params={"academic_year": 115, "semester": 1},
            headers=self.student(which),
        )
        assert response.status_code == 200
        return {c["course_code"]: c["enrolment_id"] for c in response.json()}

    async def new_outcome(self, course: str = COURSE_X, which: int = 1) -> dict[str, Any]:
        """A draft with the PDF as its one file; the outcome as the upload answered it."""
        enrolment = (await self.courses(which))[course]
        created = await self.api.client.post(
            f"{self.base}/outcomes",
            json={"enrolment_id": enrolment, "outcome_type": "書面報告", "brief": "探討唐詩的意象"},
            headers=self.student(which),
        )
        assert created.status_code == 201, created.text
        outcome: dict[str, Any] = created.json()
        upload = await self.api.client.post(
            f"{self.base}/outcomes/{outcome['id']}/files",
            files={"file": ("報告.pdf", self.PDF)},
            headers=self.student(which),
        )
        assert upload.status_code == 201, upload.text
        result: dict[str, Any] = upload.json()
        return result

    async def submit(self, outcome_id: str, which: int = 1) -> httpx.Response:
        """送審, as student 1 or 2."""
        return await self.api.client.post(
            f"{self.base}/outcomes/{outcome_id}/submission", headers=self.student(which)
        )

    async def decide(self, outcome_id: str, body: dict[str, Any], who: str = "a") -> httpx.Response:
        """認證 (success or failure per `body`), as teacher a or b."""
        return await self.api.client.post(
            f"{self.base}/outcomes/{outcome_id}/certification",
            json=body,
            headers=self.teacher(who),
        )


@pytest.fixture
async def term(course_api: CourseApi) -> Term:
    """A term with its roster announced, its 修課紀錄 imported and its windows open."""
    api = course_api
    teacher_a = await api.announce_person(kind="staff", local_no="T001", name="陳老師")
    teacher_b = await api.announce_person(kind="staff", local_no="T002", name="王老師")
    student_1 = await api.announce_person(
        kind="student", local_no="110001", name="林同學", class_code="101", seat_no=1
    )
    student_2 = await api.announce_person(
        kind="student", local_no="110002", name="吳同學", class_code="101", seat_no=2
    )
    term = Term(api, teacher_a, teacher_b, student_1, student_2)

    async def four() -> bool:
        return await term.known_people() == 4

    await api.eventually(four, "the roster")
    imported = await api.client.post(
        f"{term.base}/course-records/imports",
        params={"academic_year": 115, "semester": 1},
        files={"file": ("修課紀錄.csv", (Term.HEADER + "\n".join(Term.ROWS)).encode("cp950"))},
        headers=term.submitter(),
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["sections_created"] == 2
    await term.open_windows()
    return term
