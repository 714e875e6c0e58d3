"""Suite-level fixtures: a campus of real services behind the gateway, and a school in it."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from licheng.course_outcomes.app import create_app as create_course_outcomes
from licheng.course_outcomes.cli import MIGRATIONS_DIR as COURSE_MIGRATIONS
from licheng.course_outcomes.settings import Settings as CourseSettings
from licheng.exports.app import create_app as create_exports
from licheng.exports.cli import MIGRATIONS_DIR as EXPORTS_MIGRATIONS
from licheng.exports.identifiers import IdentityIdentifiers
from licheng.exports.receipts.matching import IdentityMatcher
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
from licheng.performances.app import create_app as create_performances
from licheng.performances.cli import MIGRATIONS_DIR as PERFORMANCES_MIGRATIONS
from licheng.performances.settings import Settings as PerformancesSettings
from licheng.testing.apps import service_settings, serving
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.servers import free_port
from licheng.web.app import create_app as create_web
from licheng.web.auth.identity import session_from_tokens
from licheng.web.sessions import COOKIE
from licheng.web.settings import Settings as WebSettings

TERM = {"academic_year": 115, "semester": 1}


@dataclass
class School:
    """A school set up through the gateway: people, a class, 修課紀錄 and open windows."""

    admin: dict[str, str]
    staff: dict[str, str]  # 教師編號 → person id
    students: dict[str, str]  # 學號 → person id


@dataclass
class Campus:
    """Every API service on its own database, behind the gateway."""

    gateway: httpx.AsyncClient
    issuer: TestIssuer
    school: str
    web: FastAPI

    @asynccontextmanager
    async def portal(
        self,
        person_id: str | None,
        *roles: str,
        district: bool = False,
        other_school: str | None = None,
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A browser-like client of the portal, signed in as a person holding `roles` (and,
        with `district`, the district operator's group); the session is stored as the
        sign-in callback would store it."""
        schools = [self.school, *([other_school] if other_school else [])]
        groups = [f"/schools/{school}/{r}" for school in schools for r in roles]
        token = self.issuer.token(
            person_id=uuid.UUID(person_id) if person_id else None,
            groups=[*groups, "/district/operators"] if district else groups,
            lifetime_seconds=3600,
        )
        session = await session_from_tokens(
            self.web.state.token_verifier, {"access_token": token, "expires_in": 3600}
        )
        await self.web.state.sessions.save(session)
        async with httpx.AsyncClient(
            base_url=str(self.gateway.base_url), cookies={COOKIE: session.id}, timeout=30
        ) as client:
            client.headers["x-csrf-token"] = session.csrf
            yield client

    def as_(self, person_id: str | None, *roles: str) -> dict[str, str]:
        """Headers of a person holding `roles` in the school."""
        groups = [f"/schools/{self.school}/{r}" for r in roles]
        pid = uuid.UUID(person_id) if person_id else None
        return self.issuer.headers(person_id=pid, groups=groups)

    @property
    def identity(self) -> str:
        """Identity's school prefix."""
        return f"/api/identity/v1/schools/{self.school}"

    @property
    def courses(self) -> str:
        """Course outcomes' school prefix."""
        return f"/api/course-outcomes/v1/schools/{self.school}"

    @property
    def performances(self) -> str:
        """Performances' school prefix."""
        return f"/api/performances/v1/schools/{self.school}"

    @property
    def guidance(self) -> str:
        """Guidance's school prefix."""
        return f"/api/guidance/v1/schools/{self.school}"

    @property
    def exports(self) -> str:
        """Exports' school prefix."""
        return f"/api/exports/v1/schools/{self.school}"

    async def eventually_ok(
        self, call: Callable[[], Awaitable[httpx.Response]], what: str
    ) -> httpx.Response:
        """Repeat `call` (up to 20 s) until it answers 200."""
        deadline = time.monotonic() + 20
        while True:
            response = await call()
            if response.status_code == 200:
                return response
            assert time.monotonic() < deadline, f"{what}: {response.status_code} {response.text}"
            await asyncio.sleep(0.2)

    async def set_up_school(
        self,
        *,
        staff_csv: str,
        classes_csv: str,
        students_csv: str,
        course_records: str | None = None,
        importer: str | None = None,
    ) -> School:
        """Create the school and import its people in identity. With `course_records`, once
        course outcomes knows the people, import them as `importer` (a 教師編號, as
        課程學習提交者) and open the term's windows."""
        gw = self.gateway
        created = await gw.post(
            "/api/identity/v1/schools",
            headers=self.issuer.headers(groups=["/district/operators"]),
            json={"code": self.school, "name": "測試高中", **TERM,
                  "admin": {"staff_no": "A1", "name": "管理者"}},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        admin = self.as_(created.json()["admin_person_id"], "admin")
        for kind, name, text in (
            ("staff", "s.csv", staff_csv),
            ("classes", "c.csv", classes_csv),
            ("students", "st.csv", students_csv),
        ):
            response = await gw.post(
                f"{self.identity}/imports/{kind}",
                files={"file": (name, text.encode())},
                headers=admin,
            )
            assert response.status_code == 200, response.text
        staff = {
            p["local_no"]: p["id"]
            for p in (await gw.get(f"{self.identity}/staff", headers=admin)).json()["items"]
        }
        students = {
            p["local_no"]: p["id"]
            for p in (await gw.get(f"{self.identity}/students", headers=admin)).json()["items"]
        }
        if course_records is None or importer is None:
            return School(admin=admin, staff=staff, students=students)
        submitter = self.as_(staff[importer], "course_submitter")

        async def import_records() -> httpx.Response:
            return await gw.post(
                f"{self.courses}/course-records/imports",
                headers=submitter,
                params=TERM,
                files={"file": ("修課.csv", course_records.encode())},
            )

        await self.eventually_ok(import_records, "course import once identity's people arrived")
        now = datetime.now(UTC)
        opened = await gw.patch(
            f"{self.courses}/parameters/115/1",
            json={
                f"{window}_{edge}": (now + timedelta(days=-1 if edge == "from" else 9)).isoformat()
                for window in ("upload", "certify", "select")
                for edge in ("from", "until")
            },
            headers={**submitter, "content-type": "application/merge-patch+json"},
        )
        assert opened.status_code == 200, opened.text
        return School(admin=admin, staff=staff, students=students)


@dataclass(frozen=True)
class ServiceTokens:
    """The exports worker's service token, from the test issuer identity trusts."""

    issuer: TestIssuer

    async def token(self) -> str:
        """A fresh service-account token."""
        return self.issuer.token(roles=["service"], azp="licheng-exports")


@pytest.fixture
async def campus(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    issuer: TestIssuer,
    nats_client: object,
) -> AsyncIterator[Campus]:
    identity_db = await migrated_database(IDENTITY_MIGRATIONS, "e2e_identity")
    course_db = await migrated_database(COURSE_MIGRATIONS, "e2e_course")
    performances_db = await migrated_database(PERFORMANCES_MIGRATIONS, "e2e_performances")
    guidance_db = await migrated_database(GUIDANCE_MIGRATIONS, "e2e_guidance")
    exports_db = await migrated_database(EXPORTS_MIGRATIONS, "e2e_exports")
    common: dict[str, Any] = {"infra": infra, "jwks_url": issuer.jwks_url, "issuer": issuer.issuer}
    identity = create_identity(
        service_settings(IdentitySettings, database_url=identity_db, **common)
    )
    courses = create_course_outcomes(
        service_settings(CourseSettings, database_url=course_db, **common)
    )
    performances = create_performances(
        service_settings(PerformancesSettings, database_url=performances_db, **common)
    )
    guidance = create_guidance(
        service_settings(GuidanceSettings, database_url=guidance_db, **common)
    )
    exports_settings = service_settings(
        ExportsSettings, database_url=exports_db, job_ack_wait_seconds=3.0, **common
    )
    exports = create_exports(exports_settings)
    async with (
        serving(identity) as identity_url,
        serving(courses) as courses_url,
        serving(performances) as performances_url,
        serving(guidance) as guidance_url,
        serving(exports) as exports_url,
    ):
        # Exports asks identity to match 收訖明細 entries with the same service token.
        exports.state.student_matcher = IdentityMatcher(
            identity_url=identity_url, tokens=ServiceTokens(issuer)
        )
        worker = create_worker_app(
            exports_settings,
            identifiers=IdentityIdentifiers(
                identity_url=identity_url, tokens=ServiceTokens(issuer)
            ),
        )
        gateway_port, web_port = free_port(), free_port()
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        web = create_web(
            WebSettings(
                environment="test",
                gateway_url=gateway_url,
                public_url=gateway_url,
                jwks_url=issuer.jwks_url,
                jwt_issuer=issuer.issuer,
                nats_url=infra.nats_url,
            )
        )
        gateway = create_gateway(
            GatewaySettings(
                environment="test",
                jwks_url=issuer.jwks_url,
                jwt_issuer=issuer.issuer,
                portal_url=f"http://127.0.0.1:{web_port}",
                upstreams={
                    "identity": identity_url,
                    "course-outcomes": courses_url,
                    "performances": performances_url,
                    "guidance": guidance_url,
                    "exports": exports_url,
                },
            )
        )
        async with (
            serving(worker),
            serving(web, web_port),
            serving(gateway, gateway_port),
            httpx.AsyncClient(base_url=gateway_url, timeout=30) as client,
        ):
            yield Campus(
                gateway=client,
                issuer=issuer,
                school=f"{random.randrange(10**6):06d}",
                web=web,
            )


# Schemathesis totals (tests/api_properties): each run records its counts as user properties
# (they travel from xdist workers with the report); the summary adds them up.
_schemathesis_runs: dict[str, dict[str, int]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    counts = {
        name.removeprefix("schemathesis_"): int(value)
        for name, value in report.user_properties
        if name.startswith("schemathesis_")
    }
    if counts and report.when == "call":
        _schemathesis_runs[report.nodeid.rpartition("[")[2].rstrip("]")] = counts


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _schemathesis_runs:
        return
    terminalreporter.section("schemathesis (tests/api_properties)")
    names = ("operations", "examples", "failures", "answered_2xx")
    totals = dict.fromkeys(names, 0)
    for run, counts in sorted(_schemathesis_runs.items()):
        terminalreporter.line(
            f"SCHEMATHESIS run={run} " + " ".join(f"{n}={counts.get(n, 0)}" for n in names)
        )
        for name in names:
            totals[name] += counts.get(name, 0)
    terminalreporter.line(
        f"SCHEMATHESIS total runs={len(_schemathesis_runs)} "
        + " ".join(f"{n}={totals[n]}" for n in names)
    )
