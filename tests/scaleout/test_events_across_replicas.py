"""Scale-out on real engines: a 3-node NATS JetStream cluster on loopback (streams at 3
replicas), PostgreSQL, and two replicas each of identity and course-outcomes as real processes.

Students are imported through both identity replicas at once while one NATS server is killed
and later started again. Then every event identity committed is on the stream exactly once, in
order and without gaps (checked by stream sequence and event id), and course-outcomes — whose
two replicas share one durable consumer — applied each event it subscribes to exactly once and
knows every student.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import pytest
import sqlalchemy as sa

from licheng.contracts.events import STREAMS, EventEnvelope
from licheng.course_outcomes.cli import MIGRATIONS_DIR as COURSE_MIGRATIONS
from licheng.course_outcomes.roster.events import DURABLE, roster_consumer
from licheng.identity.cli import MIGRATIONS_DIR as IDENTITY_MIGRATIONS
from licheng.identity.imports.national_id import is_valid_national_id
from licheng.kit.db import create_engine
from licheng.kit.migrations import upgrade_to_head_async
from licheng.testing.databases import create_database, drop_database
from licheng.testing.fixtures import TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.processes import Service, service_env, service_process, wait_ready
from licheng.testing.servers import NatsCluster, free_port
from licheng.testing.workbooks import xlsx_bytes

pytestmark = pytest.mark.postgresql_only(
    reason="replicas share one database: the embedded SQLite run is one process"
)

CLASSES = ["101", "102", "103", "201", "202", "301"]
STUDENT_COLUMNS = ["學號", "姓名", "班級", "座號", "身分證號", "出生日期", "在籍狀態"]
BATCHES = 8
PER_BATCH = 40


@dataclass
class Replicas:
    """Two identities, two course-outcomes, the NATS cluster and the databases."""

    identities: list[Service]
    courses: list[Service]
    cluster: NatsCluster
    identity_db: str
    courses_db: str
    issuer: TestIssuer


def _national_id(rng: random.Random) -> str:
    while True:
        stem = (
            rng.choice("ABCDEFGHJKLMNPQRSTUVXYWZ")
            + rng.choice("12")
            + f"{rng.randrange(10**7):07d}"
        )
        for digit in range(10):
            if is_valid_national_id(stem + str(digit)):
                return stem + str(digit)


@pytest.fixture
async def replicas(infra: TestInfra, tmp_path: Path) -> AsyncIterator[Replicas]:
    cluster = NatsCluster(infra.nats_server_bin, tmp_path / "nats")
    cluster.start()
    issuer = TestIssuer()
    names: list[str] = []
    try:
        for prefix, migrations in (("so_id", IDENTITY_MIGRATIONS), ("so_co", COURSE_MIGRATIONS)):
            name = await create_database(infra, prefix)
            names.append(name)
            await upgrade_to_head_async(migrations_dir=migrations, database_url=infra.pg_url(name))
        identity_db, courses_db = (infra.pg_url(n) for n in names)
        common = {
            "environment": "test",
            "nats_url": cluster.url,
            "nats_stream_replicas": "3",
            "s3_endpoint": infra.s3_endpoint,
            "s3_access_key": infra.s3_access_key,
            "s3_secret_key": infra.s3_secret_key,
            "jwks_url": issuer.jwks_url,
            "jwt_issuer": issuer.issuer,
            "jwt_audience": "licheng",
            "log_level": "WARNING",
        }
        with (
            service_process(
                "identity",
                service_env("LICHENG_IDENTITY_", {**common, "database_url": identity_db}),
                free_port(),
                tmp_path,
                label="identity-a",
            ) as identity_a,
            service_process(
                "identity",
                service_env("LICHENG_IDENTITY_", {**common, "database_url": identity_db}),
                free_port(),
                tmp_path,
                label="identity-b",
            ) as identity_b,
            service_process(
                "course-outcomes",
                service_env("LICHENG_COURSE_OUTCOMES_", {**common, "database_url": courses_db}),
                free_port(),
                tmp_path,
                label="course-outcomes-a",
            ) as courses_a,
            service_process(
                "course-outcomes",
                service_env("LICHENG_COURSE_OUTCOMES_", {**common, "database_url": courses_db}),
                free_port(),
                tmp_path,
                label="course-outcomes-b",
            ) as courses_b,
        ):
            for service in (identity_a, identity_b, courses_a, courses_b):
                await wait_ready(service, "/readyz", timeout=90)
            yield Replicas(
                [identity_a, identity_b],
                [courses_a, courses_b],
                cluster,
                identity_db,
                courses_db,
                issuer,
            )
            for service in (identity_a, identity_b, courses_a, courses_b):
                log = service.log.read_text(errors="replace")
                assert '"level": "error"' not in log, (
                    f"{service.name} logged an error:\n{log[-3000:]}"
                )
    finally:
        cluster.stop()
        issuer.close()
        for name in names:
            await drop_database(infra, name)


def _subject_matches(pattern: str, subject: str) -> bool:
    wanted, given = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(given) > index
        if index >= len(given) or (token != "*" and token != given[index]):
            return False
    return len(wanted) == len(given)


async def _stream_events(nats_url: str) -> list[tuple[int, str, str, str | None]]:
    """(stream sequence, event id, subject, 學號 of a person event) of every message on
    identity's stream, in order."""
    client = await nats.connect(nats_url.split(","))
    try:
        js = client.jetstream()
        name = STREAMS["identity"].name
        info = await js.stream_info(name)
        assert info.state.messages == info.state.last_seq - info.state.first_seq + 1  # no holes
        found: list[tuple[int, str, str, str | None]] = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(name, seq=sequence)
            envelope = EventEnvelope.model_validate_json(message.data or b"")
            local_no = envelope.data.get("local_no") if envelope.data.get("kind") else None
            found.append((sequence, str(envelope.id), message.subject or "", local_no))
        return found
    finally:
        await client.close()


async def _applied_by(service: Service) -> int:
    """How many events this replica's roster consumer applied (its /metrics)."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{service.url}/metrics")).text
    total = 0.0
    for line in text.splitlines():
        ours = f'consumer="{DURABLE}"' in line and 'outcome="applied"' in line
        if line.startswith("licheng_events_handled_total{") and ours:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


async def test_two_replicas_of_each_service_publish_and_apply_every_event_exactly_once(
    replicas: Replicas,
) -> None:
    school = f"{random.randrange(10**6):06d}"
    operator = replicas.issuer.headers(groups=["/district/operators"])
    admin = replicas.issuer.headers(groups=[f"/schools/{school}/admin"])
    base = f"/api/identity/v1/schools/{school}"
    rng = random.Random(18)
    seen: set[str] = set()

    def batch(number: int) -> bytes:
        rows: list[list[object]] = []
        for n in range(number * PER_BATCH, (number + 1) * PER_BATCH):
            nid = _national_id(rng)
            while nid in seen:
                nid = _national_id(rng)
            seen.add(nid)
            rows.append([f"{300000 + n}", f"學生{n}", CLASSES[n % len(CLASSES)],
                         n // len(CLASSES) + 1, nid, "0950315", "在籍"])  # fmt: skip
        return xlsx_bytes(STUDENT_COLUMNS, rows)

    identity_a, identity_b = (s.url for s in replicas.identities)
    async with httpx.AsyncClient(timeout=120) as client:
        made = await client.post(
            f"{identity_a}/api/identity/v1/schools",
            headers=operator,
            json={"code": school, "name": "擴充測試高中", "academic_year": 115, "semester": 1,
                  "admin": {"staff_no": "A1", "name": "管理"}},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        classes = xlsx_bytes(["班級代碼", "年級"], [[c, int(c[0])] for c in CLASSES])
        imported = await client.post(
            f"{identity_b}{base}/imports/classes",
            headers=admin,
            files={"file": ("c.xlsx", classes)},
        )
        assert imported.status_code == 200, imported.text

        async def import_batch(number: int) -> None:
            url = identity_a if number % 2 == 0 else identity_b
            answer = await client.post(
                f"{url}{base}/imports/students",
                headers=admin,
                files={"file": ("s.xlsx", batch(number))},
            )
            assert answer.status_code == 200, answer.text

        # Two imports at a time, one through each replica; a NATS server dies after the first
        # pair and comes back after the third.
        victim = replicas.cluster.servers[0]
        for first in range(0, BATCHES, 2):
            await asyncio.gather(import_batch(first), import_batch(first + 1))
            if first == 0:
                victim.kill()
            if first == 4:
                victim.start()

    students = BATCHES * PER_BATCH
    identity_engine = create_engine(replicas.identity_db)
    courses_engine = create_engine(replicas.courses_db)
    try:
        # Everything identity committed leaves its outbox...
        deadline = time.monotonic() + 90
        async with identity_engine.connect() as connection:
            while True:
                pending = await connection.scalar(
                    sa.text("SELECT count(*) FROM outbox_message WHERE published_at IS NULL")
                )
                await connection.commit()
                if pending == 0:
                    break
                assert time.monotonic() < deadline, f"{pending} events never left the outbox"
                await asyncio.sleep(0.2)
            outbox = [
                str(row[0])
                for row in await connection.execute(
                    sa.text("SELECT id FROM outbox_message ORDER BY seq")
                )
            ]
        # ...and course-outcomes knows every student.
        async with courses_engine.connect() as connection:
            while True:
                known = await connection.scalar(
                    sa.text(
                        "SELECT count(*) FROM known_person"
                        " WHERE school_code = :s AND kind = 'student'"
                    ),
                    {"s": school},
                )
                await connection.commit()
                if known == students:
                    break
                assert time.monotonic() < deadline, f"course-outcomes knows {known} of {students}"
                await asyncio.sleep(0.2)
            applied = [
                str(row[0])
                for row in await connection.execute(
                    sa.text("SELECT event_id FROM inbox_message WHERE consumer = :c"),
                    {"c": DURABLE},
                )
            ]
    finally:
        await identity_engine.dispose()
        await courses_engine.dispose()

    on_stream = await _stream_events(replicas.cluster.url)
    sequences = [sequence for sequence, _, _, _ in on_stream]
    event_ids = [event_id for _, event_id, _, _ in on_stream]
    student_nos = [no for _, _, _, no in on_stream if no and no.isdigit()]
    # Published exactly once each, with no gap in the stream's sequence. (In commit order, not
    # in `seq` order: two imports committing at once through the two replicas interleave.)
    assert sequences == list(range(1, len(outbox) + 1))
    assert sorted(event_ids) == sorted(outbox)
    assert len(set(event_ids)) == len(event_ids)
    # One transaction's events keep their order: an import's students leave in row order.
    for number in range(BATCHES):
        first = 300000 + number * PER_BATCH
        in_batch = [no for no in student_nos if first <= int(no) < first + PER_BATCH]
        assert in_batch == sorted(in_batch), f"import {number} left out of order"
        assert len(in_batch) == PER_BATCH
    # Applied exactly once each by the pair of course-outcomes replicas.
    patterns = roster_consumer().subjects
    wanted = {
        event_id
        for _, event_id, subject, _ in on_stream
        if any(_subject_matches(p, subject) for p in patterns)
    }
    assert len(wanted) >= students
    assert len(applied) == len(set(applied))
    assert set(applied) == wanted
    # The two replicas' own counts add up to that: each event applied by one of them, once.
    per_replica = [await _applied_by(service) for service in replicas.courses]
    assert sum(per_replica) == len(applied)
    report = {"events": len(outbox), "applied": len(applied), "per_replica": per_replica}
    print(f"scale-out: {json.dumps(report)}")
