"""Real processes for the end-to-end benchmarks (P2, P4, P5): identity, course-outcomes and the
gateway started as `licheng-<name> serve` starts them (uvicorn, its own loop and parser), each
service on a fresh migrated PostgreSQL database, a private nats-server (JetStream), the test
SeaweedFS, and a token issuer like Keycloak's; and a seeded school in course-outcomes.

The benchmark's own event loop only generates load and reads the clock.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from bench._support import CLASSES
from licheng.course_outcomes.cli import MIGRATIONS_DIR as COURSE_MIGRATIONS
from licheng.course_outcomes.models import CourseSection, Enrolment, KnownClass, KnownPerson
from licheng.course_outcomes.parameters.service import defaults
from licheng.identity.cli import MIGRATIONS_DIR as IDENTITY_MIGRATIONS
from licheng.kit.db import create_engine
from licheng.kit.migrations import upgrade_to_head_async
from licheng.kit.timeutil import utcnow
from licheng.testing.databases import create_database, drop_database
from licheng.testing.fixtures import TestIssuer
from licheng.testing.infra import TestInfra, load_infra
from licheng.testing.processes import Service, service_env, service_process, wait_ready
from licheng.testing.servers import NatsServerProcess, free_port

BIN = Path(sys.executable).parent
TERM = {"academic_year": 115, "semester": 1}
SUBJECTS = ["國語文", "英語文", "數學", "物理", "歷史"]
TOKEN_LIFETIME = 3 * 3600
MIGRATIONS = (("identity", IDENTITY_MIGRATIONS), ("co", COURSE_MIGRATIONS))


@dataclass
class Campus:
    """The running processes, their databases and the issuer their tokens come from."""

    infra: TestInfra
    issuer: TestIssuer
    identity: Service
    courses: Service
    gateway: Service
    identity_db: str
    courses_db: str
    nats_url: str
    work: Path

    def headers(
        self, school: str, *roles: str, person_id: uuid.UUID | None = None
    ) -> dict[str, str]:
        """A long-lived token of a person holding `roles` in `school`."""
        return self.issuer.headers(
            person_id=person_id or uuid.uuid4(),
            groups=[f"/schools/{school}/{r}" for r in roles],
            lifetime_seconds=TOKEN_LIFETIME,
        )


@asynccontextmanager
async def campus() -> AsyncIterator[Campus]:
    """Identity, course-outcomes and the gateway as processes on fresh databases."""
    infra = load_infra()
    issuer = TestIssuer()
    databases: list[str] = []
    with tempfile.TemporaryDirectory(prefix="licheng-bench-") as folder:
        work = Path(folder)
        nats_server = NatsServerProcess(infra.nats_server_bin, work / "jetstream")
        nats_server.start()
        try:
            for prefix, migrations in MIGRATIONS:
                name = await create_database(infra, f"bench_{prefix}")
                databases.append(name)
                await upgrade_to_head_async(
                    migrations_dir=migrations, database_url=infra.pg_url(name)
                )
            identity_db, courses_db = (infra.pg_url(n) for n in databases)
            common = {
                "environment": "test",
                "nats_url": nats_server.url,
                "s3_endpoint": infra.s3_endpoint,
                "s3_access_key": infra.s3_access_key,
                "s3_secret_key": infra.s3_secret_key,
                "jwks_url": issuer.jwks_url,
                "jwt_issuer": issuer.issuer,
                "jwt_audience": "licheng",
                "log_level": os.environ.get("LICHENG_BENCH_LOG_LEVEL", "WARNING"),
            }
            ports = {name: free_port() for name in ("identity", "course-outcomes", "gateway")}
            gateway_env = {
                **common,
                "upstreams": json.dumps(
                    {
                        "identity": f"http://127.0.0.1:{ports['identity']}",
                        "course-outcomes": f"http://127.0.0.1:{ports['course-outcomes']}",
                    }
                ),
                # The rush and wrk come from one address with few tokens: nothing may be 429.
                "rate_limit": "100000000/minute",
                "anonymous_rate_limit": "100000000/minute",
            }
            with (
                service_process(
                    "identity",
                    service_env("LICHENG_IDENTITY_", {**common, "database_url": identity_db}),
                    ports["identity"],
                    work,
                ) as identity,
                service_process(
                    "course-outcomes",
                    service_env("LICHENG_COURSE_OUTCOMES_", {**common, "database_url": courses_db}),
                    ports["course-outcomes"],
                    work,
                ) as courses,
                service_process(
                    "gateway", service_env("LICHENG_GATEWAY_", gateway_env), ports["gateway"], work
                ) as gateway,
            ):
                await wait_ready(identity, "/readyz")
                await wait_ready(courses, "/readyz")
                await wait_ready(gateway, "/healthz")
                yield Campus(
                    infra,
                    issuer,
                    identity,
                    courses,
                    gateway,
                    identity_db,
                    courses_db,
                    nats_server.url,
                    work,
                )
        finally:
            nats_server.kill()
            issuer.close()
            for name in databases:
                await drop_database(infra, name)


@dataclass(frozen=True)
class SeededSchool:
    """A school in course-outcomes: students with one enrolment each, their certifiers."""

    code: str
    students: list[uuid.UUID]
    enrolment_of: dict[uuid.UUID, uuid.UUID]
    certifier_of: dict[uuid.UUID, uuid.UUID]


async def seed_school(database_url: str, students: int) -> SeededSchool:
    """Classes, one teacher per section (five subjects × three grades), `students` students each
    enrolled in one of their grade's sections, and the term's windows open (directly in the
    database, as identity's events and a course import would leave them)."""
    code = f"{uuid.uuid4().int % 10**6:06d}"
    now = utcnow()
    teachers: dict[tuple[int, int], uuid.UUID] = {
        (grade, n): uuid.uuid4() for grade in (1, 2, 3) for n in range(len(SUBJECTS))
    }
    people: list[dict[str, Any]] = [
        {"id": tid, "school_code": code, "kind": "staff", "local_no": f"T{g}{n}",
         "name": f"教師{g}{n}", "class_code": None, "seat_no": None, "status": None,
         "updated_at": now}
        for (g, n), tid in teachers.items()
    ]  # fmt: skip
    sections = {
        key: {"id": uuid.uuid4(), "school_code": code, **TERM,
              "course_code": f"108{code}H{key[0]}{key[1]:02d}01A1010{key[0]}{key[1]:02d}",
              "subject_name": SUBJECTS[key[1]], "credits": 4, "grade": key[0],
              "teacher_no": f"T{key[0]}{key[1]}", "teacher_id": tid, "certifier_id": tid}
        for key, tid in teachers.items()
    }  # fmt: skip
    enrolments: list[dict[str, Any]] = []
    ids: list[uuid.UUID] = []
    enrolment_of: dict[uuid.UUID, uuid.UUID] = {}
    certifier_of: dict[uuid.UUID, uuid.UUID] = {}
    for n in range(students):
        person = uuid.uuid4()
        class_code = CLASSES[n % len(CLASSES)]
        grade = int(class_code[0])
        section = sections[grade, n % len(SUBJECTS)]
        ids.append(person)
        people.append(
            {"id": person, "school_code": code, "kind": "student", "local_no": f"{110000 + n}",
             "name": f"學生{n}", "class_code": class_code, "seat_no": n // len(CLASSES) + 1,
             "status": "在籍", "updated_at": now}
        )  # fmt: skip
        enrolment_of[person] = uuid.uuid4()
        certifier_of[person] = teachers[grade, n % len(SUBJECTS)]
        enrolments.append(
            {"id": enrolment_of[person], "school_code": code, "section_id": section["id"],
             "student_no": f"{110000 + n}", "student_id": person, "kind": "學期課程"}
        )  # fmt: skip
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.insert(KnownClass),
                [{"school_code": code, "class_code": c, "grade": int(c[0]),
                  "homeroom_person_id": None} for c in CLASSES],
            )  # fmt: skip
            await connection.execute(sa.insert(KnownPerson), people)
            await connection.execute(sa.insert(CourseSection), list(sections.values()))
            await connection.execute(sa.insert(Enrolment), enrolments)
        parameters = defaults(code, TERM["academic_year"], TERM["semester"])
        for window in ("upload", "certify", "select"):
            setattr(parameters, f"{window}_from", now - timedelta(days=1))
            setattr(parameters, f"{window}_until", now + timedelta(days=9))
        async with AsyncSession(engine) as session:
            session.add(parameters)
            await session.commit()
    finally:
        await engine.dispose()
    return SeededSchool(code, ids, enrolment_of, certifier_of)


def pdf_bytes(size: int, marker: int = 0) -> bytes:
    """A PDF of exactly `size` bytes (content sniffing sees a PDF); `marker` makes it unique."""
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
    tail = f"\n%{marker:020d}\n%%EOF\n".encode()
    return head + bytes(size - len(head) - len(tail)) + tail
