"""A school signed in through Keycloak: identity (syncing people to Keycloak with an initial
password), course-outcomes, performances, guidance, exports with its worker, the gateway and
the portal, every one trusting Keycloak's keys — the district deployment in miniature, for
tests that drive a real browser."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from playwright.async_api import Page
from pydantic import SecretStr

from licheng.course_outcomes.app import create_app as create_course_outcomes
from licheng.course_outcomes.cli import MIGRATIONS_DIR as COURSE_MIGRATIONS
from licheng.course_outcomes.settings import Settings as CourseSettings
from licheng.exports.app import create_app as create_exports
from licheng.exports.cli import MIGRATIONS_DIR as EXPORTS_MIGRATIONS
from licheng.exports.identifiers import IdentityIdentifiers
from licheng.exports.settings import Settings as ExportsSettings
from licheng.exports.worker import create_worker_app
from licheng.gateway.app import create_app as create_gateway
from licheng.gateway.settings import Settings as GatewaySettings
from licheng.guidance.app import create_app as create_guidance
from licheng.guidance.cli import MIGRATIONS_DIR as GUIDANCE_MIGRATIONS
from licheng.guidance.settings import Settings as GuidanceSettings
from licheng.identity.app import create_app as create_identity
from licheng.identity.cli import MIGRATIONS_DIR as IDENTITY_MIGRATIONS
from licheng.identity.settings import Settings as IdentitySettings
from licheng.kit.service_tokens import ClientCredentials
from licheng.performances.app import create_app as create_performances
from licheng.performances.cli import MIGRATIONS_DIR as PERFORMANCES_MIGRATIONS
from licheng.performances.settings import Settings as PerformancesSettings
from licheng.testing.apps import service_settings, serving
from licheng.testing.fixtures import MigratedDatabaseFactory
from licheng.testing.infra import TestInfra
from licheng.testing.servers import free_port
from licheng.web.app import create_app as create_web
from licheng.web.settings import Settings as WebSettings

PASSWORD = "Portal-initial-Password-1"
EXPORTS_CLIENT_SECRET = "exports-dev-secret"  # the test realm's secret for licheng-exports
TERM = {"academic_year": 115, "semester": 1}


@dataclass
class SsoSchool:
    """A school whose people sign in on Keycloak's own login page."""

    portal: str  # the gateway's address, as the browser sees it
    school: str
    infra: TestInfra
    api: httpx.AsyncClient  # the gateway, for setting up through the API
    web: FastAPI  # the portal app (its session store)

    def username(self, kind: str, local_no: str) -> str:
        """The Keycloak username identity gave a person."""
        return f"{self.school}-{kind}-{local_no}".lower()

    async def token(
        self, username: str, password: str = PASSWORD, *, role: str | None = None
    ) -> dict[str, str]:
        """API headers of a person, signed in with the tests' direct-grant client (once
        identity's sync has given them `role` in the school, when given)."""
        deadline = time.monotonic() + 40
        async with httpx.AsyncClient(timeout=10) as keycloak:
            while True:
                answer = await keycloak.post(
                    f"{self.infra.keycloak_issuer}/protocol/openid-connect/token",
                    data={"grant_type": "password", "client_id": "licheng-test-signin",
                          "username": username, "password": password},
                )  # fmt: skip
                token = answer.json().get("access_token") if answer.status_code == 200 else None
                groups = jwt.decode(token, options={"verify_signature": False}).get(
                    "groups", []
                ) if token else []  # fmt: skip
                if token and (role is None or f"/schools/{self.school}/{role}" in groups):
                    return {"authorization": f"Bearer {token}"}
                assert time.monotonic() < deadline, f"{username}: {answer.text}"
                await asyncio.sleep(0.3)  # identity's sync has not reached Keycloak yet

    async def set_up_term(
        self, *, staff_csv: str, classes_csv: str, students_csv: str, courses_csv: str
    ) -> dict[str, str]:
        """Create the school as the district operator, import its people as its admin, import the
        term's 修課紀錄 and open its windows as the course submitter (T002); headers by role."""
        operator = await self.token("t-operator", "test-password")
        created = await self.api.post(
            "/api/identity/v1/schools",
            headers=operator,
            json={"code": self.school, "name": "瀏覽器測試高中", **TERM,
                  "admin": {"staff_no": "A1", "name": "系統管理者"}},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        admin = await self.token(self.username("t", "a1"), role="admin")
        base = f"/api/identity/v1/schools/{self.school}"
        for kind, text in (
            ("staff", staff_csv),
            ("classes", classes_csv),
            ("students", students_csv),
        ):
            files = {"file": (f"{kind}.csv", text.encode())}
            imported = await self.api.post(f"{base}/imports/{kind}", headers=admin, files=files)
            assert imported.status_code == 200, imported.text
        listed = (await self.api.get(f"{base}/staff", headers=admin)).json()["items"]
        staff = {p["local_no"]: p["id"] for p in listed}
        granted = await self.api.put(
            f"{base}/staff/{staff['T002']}/roles/course_submitter", headers=admin
        )
        assert granted.is_success, granted.text
        submitter = await self.token(self.username("t", "t002"), role="course_submitter")
        courses = f"/api/course-outcomes/v1/schools/{self.school}"
        await self.eventually_ok(
            "POST", f"{courses}/course-records/imports", headers=submitter, params=TERM,
            files={"file": ("修課.csv", courses_csv.encode())},
        )  # fmt: skip
        now = datetime.now(UTC)
        opened = await self.api.patch(
            f"{courses}/parameters/115/1",
            json={f"{w}_{edge}": (now + timedelta(days=-1 if edge == "from" else 9)).isoformat()
                  for w in ("upload", "certify", "select") for edge in ("from", "until")},
            headers={**submitter, "content-type": "application/merge-patch+json"},
        )  # fmt: skip
        assert opened.status_code == 200, opened.text
        return {"admin": admin["authorization"], "submitter": submitter["authorization"]}

    async def grant(self, admin: dict[str, str], staff_no: str, role: str) -> dict[str, str]:
        """Give the staff member `role` as the admin; their API headers once Keycloak has it."""
        base = f"/api/identity/v1/schools/{self.school}"
        listed = (await self.api.get(f"{base}/staff", headers=admin)).json()["items"]
        person = next(p["id"] for p in listed if p["local_no"] == staff_no)
        granted = await self.api.put(f"{base}/staff/{person}/roles/{role}", headers=admin)
        assert granted.is_success, granted.text
        return await self.token(self.username("t", staff_no.lower()), role=role)

    async def eventually_ok(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Repeat a call (up to 40 s) until it answers 2xx."""
        deadline = time.monotonic() + 40
        while True:
            answer = await self.api.request(method, path, **kwargs)
            if answer.is_success:
                return answer
            assert time.monotonic() < deadline, f"{path}: {answer.status_code} {answer.text}"
            await asyncio.sleep(0.3)


@pytest.fixture
async def sso_school(
    infra: TestInfra, migrated_database: MigratedDatabaseFactory, nats_client: object
) -> AsyncIterator[SsoSchool]:
    keycloak = {
        "jwks_url": f"{infra.keycloak_issuer}/protocol/openid-connect/certs",
        "issuer": infra.keycloak_issuer,
    }
    identity = create_identity(
        service_settings(
            IdentitySettings,
            infra=infra,
            database_url=await migrated_database(IDENTITY_MIGRATIONS, "sso_identity"),
            keycloak_url=infra.keycloak_url,
            keycloak_realm=infra.keycloak_realm,
            keycloak_initial_password=PASSWORD,
            dev_issuer_enabled=False,
            **keycloak,
        )
    )
    courses = create_course_outcomes(
        service_settings(
            CourseSettings,
            infra=infra,
            database_url=await migrated_database(COURSE_MIGRATIONS, "sso_course"),
            **keycloak,
        )
    )
    performances = create_performances(
        service_settings(
            PerformancesSettings,
            infra=infra,
            database_url=await migrated_database(PERFORMANCES_MIGRATIONS, "sso_performances"),
            **keycloak,
        )
    )
    guidance = create_guidance(
        service_settings(
            GuidanceSettings,
            infra=infra,
            database_url=await migrated_database(GUIDANCE_MIGRATIONS, "sso_guidance"),
            **keycloak,
        )
    )
    exports_settings = service_settings(
        ExportsSettings,
        infra=infra,
        database_url=await migrated_database(EXPORTS_MIGRATIONS, "sso_exports"),
        job_ack_wait_seconds=5.0,
        **keycloak,
    )
    exports = create_exports(exports_settings)
    gateway_port, web_port = free_port(), free_port()
    portal = f"http://127.0.0.1:{gateway_port}"
    web = create_web(
        WebSettings(
            environment="test",
            gateway_url=portal,
            public_url=portal,
            oidc_issuer=infra.keycloak_issuer,
            jwks_url=keycloak["jwks_url"],
            jwt_issuer=keycloak["issuer"],
            nats_url=infra.nats_url,
        )
    )
    async with (
        serving(identity) as identity_url,
        serving(courses) as courses_url,
        serving(performances) as performances_url,
        serving(guidance) as guidance_url,
        serving(exports) as exports_url,
    ):
        tokens = ClientCredentials(
            token_url=f"{infra.keycloak_issuer}/protocol/openid-connect/token",
            client_id="licheng-exports",
            client_secret=SecretStr(EXPORTS_CLIENT_SECRET),
        )
        worker = create_worker_app(
            exports_settings,
            identifiers=IdentityIdentifiers(identity_url=identity_url, tokens=tokens),
        )
        gateway = create_gateway(
            GatewaySettings(
                environment="test",
                jwks_url=keycloak["jwks_url"],
                jwt_issuer=keycloak["issuer"],
                portal_url=f"http://127.0.0.1:{web_port}",
                upstreams={
                    "identity": identity_url,
                    "course-outcomes": courses_url,
                    "performances": performances_url,
                    "guidance": guidance_url,
                    "exports": exports_url,
                },
                # Every server of this stack shares the test's one event loop, on a machine
                # busy with the rest of the suite: allow a slow accept.
                upstream_connect_timeout_seconds=15.0,
            )
        )
        async with (
            serving(worker),
            serving(web, web_port),
            serving(gateway, gateway_port),
            httpx.AsyncClient(base_url=portal, timeout=30) as api,
        ):
            yield SsoSchool(
                portal=portal,
                school=f"{random.randrange(10**6):06d}",
                infra=infra,
                api=api,
                web=web,
            )


async def sign_in_on_keycloak(page: Page, school: SsoSchool, username: str) -> None:
    """Open the portal, follow it to Keycloak's login page and sign in there."""
    await page.goto(f"{school.portal}/auth/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#kc-login")
    await page.wait_for_url(f"{school.portal}/**")


@pytest.fixture
def sign_in(sso_school: SsoSchool) -> Callable[[Page, str], Awaitable[None]]:
    """`await sign_in(page, username)`: through Keycloak's real login page."""

    async def signer(page: Page, username: str) -> None:
        await sign_in_on_keycloak(page, sso_school, username)

    return signer
