"""Fault-test fixtures: course-outcomes reaching one dependency (its database or S3) through a
cuttable TCP proxy on loopback, with a term set up in it: students announced as identity would,
their 修課紀錄 imported, the windows open and a draft of each student's own."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from sqlalchemy.engine import make_url

from licheng.contracts.events import PersonUpserted
from licheng.course_outcomes.app import create_app
from licheng.course_outcomes.cli import MIGRATIONS_DIR
from licheng.course_outcomes.settings import Settings
from licheng.kit.events import ensure_streams
from licheng.testing.apps import running, service_settings
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.servers import TcpProxy

STUDENTS = 4
COURSE = "108011302H11101A1010101"


@dataclass
class CourseTerm:
    """Course-outcomes with a proxy before one dependency; students, each with a draft."""

    client: httpx.AsyncClient
    app: FastAPI
    proxy: TcpProxy
    database_url: str  # direct, not through the proxy
    school: str
    drafts: dict[uuid.UUID, str]  # student id → their draft's id
    issuer: TestIssuer

    def student(self, person_id: uuid.UUID) -> dict[str, str]:
        """Headers of a student."""
        groups = [f"/schools/{self.school}/student"]
        return self.issuer.headers(person_id=person_id, groups=groups)

    @property
    def base(self) -> str:
        """The school's API prefix."""
        return f"/api/course-outcomes/v1/schools/{self.school}"


CourseTermFactory = Callable[[str], AbstractAsyncContextManager[CourseTerm]]


@pytest.fixture
def course_term(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    issuer: TestIssuer,
    nats_client: NatsClient,
) -> CourseTermFactory:
    """`async with course_term("database" | "s3") as term`: course-outcomes reaching that
    dependency through `term.proxy` (cut at the end whatever happened)."""

    @asynccontextmanager
    async def start(through: str) -> AsyncIterator[CourseTerm]:
        database_url = await migrated_database(MIGRATIONS_DIR, "fault_course")
        overrides: dict[str, Any] = {"database_url": database_url}
        if through == "database":
            proxy = TcpProxy(infra.pg_host, infra.pg_port)
            proxied = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
            overrides["database_url"] = proxied.render_as_string(hide_password=False)
            # A key whose request the cut interrupted stays pending; its retry after the cut
            # takes it over at once here instead of after the deployed two minutes (each key
            # is only ever retried after its first request ended).
            overrides["idempotency_takeover_seconds"] = 0
        else:
            host, port = infra.s3_endpoint.rsplit(":", 1)
            proxy = TcpProxy(host, int(port))
            overrides["s3_endpoint"] = f"127.0.0.1:{proxy.port}"
        await proxy.start()
        js = nats_client.jetstream()
        await ensure_streams(js, "identity")
        settings = service_settings(
            Settings, infra=infra, jwks_url=issuer.jwks_url, issuer=issuer.issuer, **overrides
        )
        school = f"{random.randrange(10**6):06d}"
        app = create_app(settings)
        try:
            async with running(app) as client:
                client.timeout = httpx.Timeout(30.0)
                drafts = await _set_up_term(client, js, issuer, school, database_url)
                yield CourseTerm(client, app, proxy, database_url, school, drafts, issuer)
        finally:
            proxy.resume()
            await proxy.cut()

    return start


async def _set_up_term(
    client: httpx.AsyncClient,
    js: JetStreamContext,
    issuer: TestIssuer,
    school: str,
    database_url: str,
) -> dict[uuid.UUID, str]:
    """Announce the students and their teacher as identity would, import the students'
    修課紀錄, open the windows and let each create a draft; student id → draft id."""
    students: dict[uuid.UUID, str] = {}
    for n in range(STUDENTS + 1):  # the students, then their teacher T001
        student = n < STUDENTS
        person_id, local_no = uuid.uuid4(), f"{110001 + n}" if student else "T001"
        envelope = PersonUpserted(
            person_id=person_id, kind="student" if student else "staff", local_no=local_no,
            name=f"成員{n}", username=f"{school}-{local_no}".lower(),
            class_code="101" if student else None, seat_no=n + 1 if student else None,
            status="在籍" if student else None,
        ).envelope(school_code=school, actor_id=None)  # fmt: skip
        await js.publish(envelope.subject, envelope.model_dump_json().encode())
        if student:
            students[person_id] = local_no
    deadline = time.monotonic() + 30
    engine = sa.ext.asyncio.create_async_engine(database_url)
    try:
        while True:
            async with engine.connect() as connection:
                known = await connection.scalar(sa.text("SELECT count(*) FROM known_person"))
            if known == STUDENTS + 1:
                break
            assert time.monotonic() < deadline, f"course-outcomes knows {known} people"
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    base = f"/api/course-outcomes/v1/schools/{school}"
    submitter = issuer.headers(groups=[f"/schools/{school}/course_submitter"])
    header = "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
    rows = "".join(f"115,1,{no},{COURSE},國語文,4,1,T001,學期課程\n" for no in students.values())
    imported = await client.post(
        f"{base}/course-records/imports",
        params={"academic_year": 115, "semester": 1},
        files={"file": ("修課紀錄.csv", (header + rows).encode("cp950"))},
        headers=submitter,
    )
    assert imported.status_code == 200, imported.text
    now = datetime.now(UTC)
    opened = await client.patch(
        f"{base}/parameters/115/1",
        json={f"{w}_{edge}": (now + timedelta(days=-1 if edge == "from" else 9)).isoformat()
              for w in ("upload", "certify", "select") for edge in ("from", "until")},
        headers={**submitter, "content-type": "application/merge-patch+json"},
    )  # fmt: skip
    assert opened.status_code == 200, opened.text
    drafts: dict[uuid.UUID, str] = {}
    for person_id in students:
        headers = issuer.headers(person_id=person_id, groups=[f"/schools/{school}/student"])
        mine = await client.get(
            f"{base}/me/courses", params={"academic_year": 115, "semester": 1}, headers=headers
        )
        assert mine.status_code == 200, mine.text
        created = await client.post(
            f"{base}/outcomes",
            json={"enrolment_id": mine.json()[0]["enrolment_id"], "outcome_type": "書面報告",
                  "brief": "初稿"},
            headers=headers,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        drafts[person_id] = created.json()["id"]
    return drafts
