"""Issue "Done when", end to end through the gateway with the real Keycloak:
a district operator creates a school and its admin; the admin imports staff, classes and
students, grants a role and posts an announcement; a teacher signs in through Keycloak and
reads it; a student updates their phone; a revoked role leaves the next token."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from licheng.gateway.app import create_app as create_gateway
from licheng.gateway.settings import Settings as GatewaySettings
from licheng.identity.app import create_app as create_identity
from licheng.identity.cli import MIGRATIONS_DIR
from licheng.identity.settings import Settings as IdentitySettings
from licheng.testing.apps import running, service_settings, serving
from licheng.testing.fixtures import MigratedDatabaseFactory
from licheng.testing.infra import TestInfra
from licheng.testing.workbooks import xlsx_bytes

PASSWORD = "E2e-initial-Password-1"
VALID_IDS = ["A123456789", "B220154307", "F131104093"]  # checksum-valid, fictitious


@dataclass
class Suite:
    gateway: httpx.AsyncClient
    keycloak: httpx.AsyncClient
    infra: TestInfra


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    loaded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return loaded


async def _sign_in(suite: Suite, username: str, password: str = PASSWORD) -> str | None:
    response = await suite.keycloak.post(
        f"/realms/{suite.infra.keycloak_realm}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "licheng-test-signin",
            "username": username,
            "password": password,
            "scope": "openid",
        },
    )
    return response.json()["access_token"] if response.status_code == 200 else None


async def _token_with(
    suite: Suite, username: str, want: set[str], absent: set[str] = frozenset()
) -> str:  # type: ignore[assignment]
    """Sign in until the token's groups show the sync has caught up."""
    deadline = time.monotonic() + 30
    while True:
        token = await _sign_in(suite, username)
        if token:
            groups = set(_claims(token).get("groups", []))
            if want <= groups and not (absent & groups):
                return token
        if time.monotonic() > deadline:
            raise AssertionError(f"{username} never got {want} without {absent}")
        await asyncio.sleep(0.3)


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
async def suite(
    infra: TestInfra, migrated_database: MigratedDatabaseFactory
) -> AsyncIterator[Suite]:
    database_url = await migrated_database(MIGRATIONS_DIR, "e2e_identity")
    jwks = f"{infra.keycloak_issuer}/protocol/openid-connect/certs"
    identity = create_identity(
        service_settings(
            IdentitySettings,
            infra=infra,
            database_url=database_url,
            jwks_url=jwks,
            issuer=infra.keycloak_issuer,
            keycloak_url=infra.keycloak_url,
            keycloak_initial_password=PASSWORD,
            dev_issuer_enabled=False,
        )
    )
    async with serving(identity) as identity_url:
        gateway = create_gateway(
            GatewaySettings(
                environment="test",
                upstreams={"identity": identity_url},
                jwks_url=jwks,
                jwt_issuer=infra.keycloak_issuer,
            )
        )
        async with (
            running(gateway) as client,
            httpx.AsyncClient(base_url=infra.keycloak_url, timeout=30) as keycloak,
        ):
            yield Suite(gateway=client, keycloak=keycloak, infra=infra)


def _csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("cp950")


async def test_school_day_one_through_the_gateway(suite: Suite) -> None:
    school = f"9{random.randrange(10**5):05d}"
    api = f"/api/identity/v1/schools/{school}"
    operator = await _sign_in(suite, "t-operator", "test-password")
    assert operator is not None

    created = await suite.gateway.post(
        "/api/identity/v1/schools",
        json={
            "code": school,
            "name": "臺北市立測試高級中學",
            "academic_year": 115,
            "semester": 1,
            "admin": {"staff_no": "A001", "name": "林管理", "email": f"admin{school}@school.tw"},
        },
        headers=_bearer(operator),
    )
    assert created.status_code == 201, created.text
    admin = _bearer(
        await _token_with(suite, created.json()["admin_username"], {f"/schools/{school}/admin"})
    )

    staff = _csv(
        ["教師編號", "姓名", "email"],
        [["T001", "陳怡君", f"t1{school}@school.tw"], ["T002", "王冠廷", f"t2{school}@school.tw"]],
    )
    classes = xlsx_bytes(["班級代碼", "年級", "班級名稱", "導師"], [["101", 1, "普一甲", "T001"]])
    students = xlsx_bytes(
        ["學號", "姓名", "班級", "座號", "身分證號", "出生日期", "在籍狀態"],
        [
            [f"11000{n}", name, "101", n + 1, VALID_IDS[n], "0970501", "在籍"]
            for n, name in enumerate(["張家豪", "李雅婷", "黃宗翰"])
        ],
    )
    for kind, name, data in (
        ("staff", "教師.csv", staff),
        ("classes", "班級.xlsx", classes),
        ("students", "學生.xlsx", students),
    ):
        response = await suite.gateway.post(
            f"{api}/imports/{kind}", files={"file": (name, data)}, headers=admin
        )
        assert response.status_code == 200, response.text
    staff_list = (await suite.gateway.get(f"{api}/staff", headers=admin)).json()["items"]
    teacher = next(p for p in staff_list if p["local_no"] == "T002")
    granted = await suite.gateway.put(
        f"{api}/staff/{teacher['id']}/roles/course_teacher", headers=admin
    )
    assert granted.status_code == 201
    posted = await suite.gateway.post(
        f"{api}/announcements",
        json={
            "title": "教師認證期限",
            "body": "請於 12/31 前完成課程學習成果認證",
            "audience": "staff",
        },
        headers=admin,
    )
    assert posted.status_code == 201

    course_teacher = f"/schools/{school}/course_teacher"
    teacher_token = await _token_with(suite, teacher["username"], {course_teacher})
    assert _claims(teacher_token)["pid"] == teacher["id"]
    assert _claims(teacher_token)["name"] == "王冠廷"
    seen = await suite.gateway.get(f"{api}/announcements", headers=_bearer(teacher_token))
    assert seen.status_code == 200
    assert [a["title"] for a in seen.json()["items"]] == ["教師認證期限"]
    homeroom = await _token_with(suite, f"{school}-t-t001", {f"/schools/{school}/homeroom_teacher"})
    own_class = await suite.gateway.get(f"{api}/students", headers=_bearer(homeroom))
    assert own_class.json()["total"] == 3

    student_token = await _token_with(suite, f"{school}-s-110001", {f"/schools/{school}/student"})
    phone = await suite.gateway.patch(
        f"{api}/me/profile", json={"phone": "0912-000-111"}, headers=_bearer(student_token)
    )
    assert phone.status_code == 200, phone.text
    assert phone.json()["phone"] == "0912-000-111"
    student_sees = await suite.gateway.get(f"{api}/announcements", headers=_bearer(student_token))
    assert student_sees.json()["items"] == []  # the notice was for staff

    revoked = await suite.gateway.delete(
        f"{api}/staff/{teacher['id']}/roles/course_teacher", headers=admin
    )
    assert revoked.status_code == 204
    await _token_with(suite, teacher["username"], set(), absent=frozenset({course_teacher}))
    forbidden = await suite.gateway.get(f"{api}/grants", headers=_bearer(teacher_token))
    assert forbidden.status_code == 403
