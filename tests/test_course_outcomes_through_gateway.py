"""Issue "Done when" for course outcomes, through the gateway: identity's imports reach
course-outcomes over NATS; a student uploads an outcome with a PDF, the teacher fails it with
reason 04, the student edits and resubmits, the teacher certifies, the student selects it, and
the homeroom teacher and the course_submitter see the counts change."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from licheng.course_outcomes.app import create_app as create_course_outcomes
from licheng.course_outcomes.cli import MIGRATIONS_DIR as COURSE_MIGRATIONS
from licheng.course_outcomes.settings import Settings as CourseSettings
from licheng.gateway.app import create_app as create_gateway
from licheng.gateway.settings import Settings as GatewaySettings
from licheng.identity.app import create_app as create_identity
from licheng.identity.cli import MIGRATIONS_DIR as IDENTITY_MIGRATIONS
from licheng.identity.settings import Settings as IdentitySettings
from licheng.testing.apps import running, service_settings, serving
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(50_000)
COURSE = "108011302H11101A1010101"


@dataclass
class Campus:
    gateway: httpx.AsyncClient
    issuer: TestIssuer
    school: str

    def as_(self, person_id: str | None, *roles: str) -> dict[str, str]:
        groups = [f"/schools/{self.school}/{r}" for r in roles]
        pid = uuid.UUID(person_id) if person_id else None
        return self.issuer.headers(person_id=pid, groups=groups)


@pytest.fixture
async def campus(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    issuer: TestIssuer,
    nats_client: object,
) -> AsyncIterator[Campus]:
    identity_db = await migrated_database(IDENTITY_MIGRATIONS, "e2e_identity")
    course_db = await migrated_database(COURSE_MIGRATIONS, "e2e_course")
    common = {"infra": infra, "jwks_url": issuer.jwks_url, "issuer": issuer.issuer}
    identity = create_identity(
        service_settings(IdentitySettings, database_url=identity_db, **common)
    )  # type: ignore[arg-type]
    courses = create_course_outcomes(
        service_settings(CourseSettings, database_url=course_db, **common)
    )  # type: ignore[arg-type]
    async with serving(identity) as identity_url, serving(courses) as courses_url:
        gateway = create_gateway(
            GatewaySettings(
                environment="test",
                jwks_url=issuer.jwks_url,
                jwt_issuer=issuer.issuer,
                upstreams={"identity": identity_url, "course-outcomes": courses_url},
            )
        )
        async with running(gateway) as client:
            yield Campus(gateway=client, issuer=issuer, school=f"{random.randrange(10**6):06d}")


async def _eventually_ok(call: Any, what: str) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        response: httpx.Response = await call()
        if response.status_code == 200:
            return response
        assert time.monotonic() < deadline, f"{what}: {response.status_code} {response.text}"
        await asyncio.sleep(0.2)


async def test_outcome_round_trip_through_the_gateway(campus: Campus) -> None:
    gw, school = campus.gateway, campus.school
    identity = f"/api/identity/v1/schools/{school}"
    courses = f"/api/course-outcomes/v1/schools/{school}"
    created = await gw.post(
        "/api/identity/v1/schools",
        headers=campus.issuer.headers(groups=["/district/operators"]),
        json={
            "code": school,
            "name": "測試高中",
            "academic_year": 115,
            "semester": 1,
            "admin": {"staff_no": "A1", "name": "管理者"},
        },
    )
    assert created.status_code == 201
    admin = campus.as_(created.json()["admin_person_id"], "admin")
    uploads = [
        ("staff", "s.csv", "教師編號,姓名,email\nT001,陳老師,\nT002,王組長,\n".encode()),
        ("classes", "c.csv", "班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n".encode()),
        (
            "students",
            "st.csv",
            (
                "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
                "110001,林同學,101,1,A123456789,0970501,在籍\n"
                "110002,吳同學,101,2,F131104093,0970812,在籍\n"
            ).encode(),
        ),
    ]
    for kind, name, data in uploads:
        response = await gw.post(
            f"{identity}/imports/{kind}", files={"file": (name, data)}, headers=admin
        )
        assert response.status_code == 200, response.text
    staff = {
        p["local_no"]: p["id"]
        for p in (await gw.get(f"{identity}/staff", headers=admin)).json()["items"]
    }
    students = {
        p["local_no"]: p["id"]
        for p in (await gw.get(f"{identity}/students", headers=admin)).json()["items"]
    }
    teacher = campus.as_(staff["T001"], "course_teacher", "homeroom_teacher")
    submitter = campus.as_(staff["T002"], "course_submitter")
    student = campus.as_(students["110001"], "student")

    records = (
        "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
        f"115,1,110001,{COURSE},國語文,4,1,T001,學期課程\n"
        f"115,1,110002,{COURSE},國語文,4,1,T001,學期課程\n"
    ).encode()

    async def import_records() -> httpx.Response:
        return await gw.post(
            f"{courses}/course-records/imports",
            headers=submitter,
            params={"academic_year": 115, "semester": 1},
            files={"file": ("修課.csv", records)},
        )

    await _eventually_ok(import_records, "course import once identity's people arrived")
    now = datetime.now(UTC)
    window = {
        "upload_from": (now - timedelta(days=1)).isoformat(),
        "upload_until": (now + timedelta(days=9)).isoformat(),
        "certify_from": (now - timedelta(days=1)).isoformat(),
        "certify_until": (now + timedelta(days=9)).isoformat(),
    }
    assert (
        await gw.put(f"{courses}/parameters/115/1", json=window, headers=submitter)
    ).status_code == 200
    status_url = f"{courses}/status/students"
    term = {"academic_year": 115, "semester": 1}

    async def counts(headers: dict[str, str]) -> dict[str, Any]:
        response = await gw.get(status_url, params=term, headers=headers)
        assert response.status_code == 200, response.text
        return {i["local_no"]: i for i in response.json()["items"]}

    async def homeroom_sees_class() -> httpx.Response:
        response = await gw.get(status_url, params=term, headers=teacher)
        return response if response.json().get("total") == 2 else httpx.Response(425)

    await _eventually_ok(homeroom_sees_class, "homeroom class in course-outcomes")
    assert (await counts(submitter))["110001"]["filled"] == 0

    enrolment = (await gw.get(f"{courses}/me/courses", params=term, headers=student)).json()[0][
        "enrolment_id"
    ]
    outcome = (
        await gw.post(
            f"{courses}/outcomes",
            headers=student,
            json={
                "enrolment_id": enrolment,
                "outcome_type": "實作作品",
                "brief": "自製的詩歌朗誦影片腳本",
            },
        )
    ).json()
    oid = outcome["id"]
    attached = await gw.put(
        f"{courses}/outcomes/{oid}/files/document",
        headers=student,
        files={"file": ("腳本.pdf", PDF)},
    )
    assert attached.status_code == 200, attached.text
    assert (await gw.post(f"{courses}/outcomes/{oid}/submission", headers=student)).json()[
        "status"
    ] == "submitted"
    assert (await counts(teacher))["110001"]["submitted"] == 1

    failed = await gw.post(
        f"{courses}/outcomes/{oid}/certification",
        headers=teacher,
        json={"certified": False, "reason_code": "04", "explanation": "請補充創作過程"},
    )
    assert failed.json()["status"] == "failed"
    assert (await counts(submitter))["110001"]["failed"] == 1
    edited = await gw.patch(
        f"{courses}/outcomes/{oid}",
        headers=student,
        json={"brief": "自製的詩歌朗誦影片腳本與創作過程紀錄"},
    )
    assert edited.status_code == 200
    assert (
        await gw.post(f"{courses}/outcomes/{oid}/submission", headers=student)
    ).status_code == 200
    certified = await gw.post(
        f"{courses}/outcomes/{oid}/certification", headers=teacher, json={"certified": True}
    )
    assert certified.json()["status"] == "certified"
    chosen = await gw.put(
        f"{courses}/me/selections", headers=student, json={**term, "outcome_ids": [oid]}
    )
    assert chosen.status_code == 200

    for viewer in (teacher, submitter):
        row = (await counts(viewer))["110001"]
        assert (
            row["filled"],
            row["submitted"],
            row["certified"],
            row["failed"],
            row["selected"],
        ) == (1, 0, 1, 0, 1)
    teachers = (await gw.get(f"{courses}/status/teachers", params=term, headers=submitter)).json()[
        "items"
    ]
    assert [(t["local_no"], t["pending"], t["succeeded"]) for t in teachers] == [("T001", 0, 1)]
