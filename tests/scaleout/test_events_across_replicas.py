"""Scale-out on real engines: a 3-node NATS JetStream cluster on loopback (streams at 3
replicas), PostgreSQL, and two replicas of every service as real processes (identity,
course-outcomes, performances, guidance, exports).

Students are imported through both identity replicas at once while one NATS server is killed
and later started again. Then every event identity committed is on the stream exactly once
without gaps (checked by stream sequence and event id), each import's events in order, and
every consuming service — its two replicas sharing one durable consumer — applied each event
it subscribes to exactly once and knows every student.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import pytest
import sqlalchemy as sa

from licheng.contracts.events import STREAMS, EventEnvelope
from licheng.course_outcomes.cli import MIGRATIONS_DIR as COURSE_MIGRATIONS
from licheng.course_outcomes.roster.events import DURABLE as COURSE_DURABLE
from licheng.exports.app import ROSTER_DURABLE as EXPORTS_DURABLE
from licheng.exports.cli import MIGRATIONS_DIR as EXPORTS_MIGRATIONS
from licheng.guidance.app import ROSTER_DURABLE as GUIDANCE_DURABLE
from licheng.guidance.cli import MIGRATIONS_DIR as GUIDANCE_MIGRATIONS
from licheng.identity.cli import MIGRATIONS_DIR as IDENTITY_MIGRATIONS
from licheng.identity.imports.national_id import is_valid_national_id
from licheng.kit.db import create_engine
from licheng.kit.migrations import upgrade_to_head_async
from licheng.kit.roster import roster_consumer
from licheng.performances.app import ROSTER_DURABLE as PERFORMANCES_DURABLE
from licheng.performances.cli import MIGRATIONS_DIR as PERFORMANCES_MIGRATIONS
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


@dataclass(frozen=True)
class Consumer:
    """A service that keeps identity's people in its read model (kit.roster)."""

    name: str
    prefix: str
    migrations: Path
    durable: str


CONSUMERS = (
    Consumer("course-outcomes", "LICHENG_COURSE_OUTCOMES_", COURSE_MIGRATIONS, COURSE_DURABLE),
    Consumer(
        "performances", "LICHENG_PERFORMANCES_", PERFORMANCES_MIGRATIONS, PERFORMANCES_DURABLE
    ),
    Consumer("guidance", "LICHENG_GUIDANCE_", GUIDANCE_MIGRATIONS, GUIDANCE_DURABLE),
    Consumer("exports", "LICHENG_EXPORTS_", EXPORTS_MIGRATIONS, EXPORTS_DURABLE),
)


@dataclass
class Replicas:
    """Two identities, two replicas of every consuming service, the NATS cluster, databases."""

    identities: list[Service]
    consumers: dict[str, list[Service]]
    databases: dict[str, str]
    cluster: NatsCluster
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
    created: list[str] = []
    databases: dict[str, str] = {}
    try:
        services = [("identity", "LICHENG_IDENTITY_", IDENTITY_MIGRATIONS)]
        services += [(c.name, c.prefix, c.migrations) for c in CONSUMERS]
        for name, _, migrations in services:
            database = await create_database(infra, f"so_{name.replace('-', '_')}")
            created.append(database)
            databases[name] = infra.pg_url(database)
            await upgrade_to_head_async(migrations_dir=migrations, database_url=databases[name])
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
        with ExitStack() as stack:
            running: dict[str, list[Service]] = {}
            for name, prefix, _ in services:
                env = service_env(prefix, {**common, "database_url": databases[name]})
                running[name] = [
                    stack.enter_context(
                        service_process(name, env, free_port(), tmp_path, label=f"{name}-{copy}")
                    )
                    for copy in ("a", "b")
                ]
            everyone = [service for pair in running.values() for service in pair]
            await asyncio.gather(*(wait_ready(s, "/readyz", timeout=120) for s in everyone))
            yield Replicas(running.pop("identity"), running, databases, cluster, issuer)
            for service in everyone:
                log = service.log.read_text(errors="replace")
                assert '"level": "error"' not in log, f"{service.name}:\n{log[-3000:]}"
    finally:
        cluster.stop()
        issuer.close()
        for name in created:
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


async def _applied_by(service: Service, durable: str) -> int:
    """How many events this replica's roster consumer applied (its /metrics)."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{service.url}/metrics")).text
    total = 0.0
    for line in text.splitlines():
        ours = f'consumer="{durable}"' in line and 'outcome="applied"' in line
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
    deadline = time.monotonic() + 120
    # Everything identity committed leaves its outbox...
    outbox = await _published_outbox(replicas.databases["identity"], deadline)
    on_stream = await _stream_events(replicas.cluster.url)
    sequences = [sequence for sequence, _, _, _ in on_stream]
    event_ids = [event_id for _, event_id, _, _ in on_stream]
    student_nos = [no for _, _, _, no in on_stream if no and no.isdigit()]
    # ...published exactly once each, with no gap in the stream's sequence. (In commit order,
    # not in `seq` order: two imports committing at once through the two replicas interleave.)
    assert sequences == list(range(1, len(outbox) + 1))
    assert sorted(event_ids) == sorted(outbox)
    assert len(set(event_ids)) == len(event_ids)
    # One transaction's events keep their order: an import's students leave in row order.
    for number in range(BATCHES):
        first = 300000 + number * PER_BATCH
        in_batch = [no for no in student_nos if first <= int(no) < first + PER_BATCH]
        assert in_batch == sorted(in_batch), f"import {number} left out of order"
        assert len(in_batch) == PER_BATCH
    # Every consuming service, two replicas sharing one durable consumer, applied each event it
    # subscribes to exactly once and knows every student.
    patterns = roster_consumer(durable="any").subjects
    wanted = {
        event_id
        for _, event_id, subject, _ in on_stream
        if any(_subject_matches(p, subject) for p in patterns)
    }
    assert len(wanted) >= students
    report: dict[str, object] = {"events": len(outbox)}
    for consumer in CONSUMERS:
        applied = await _applied_in(
            replicas.databases[consumer.name], consumer.durable, school, students, deadline
        )
        assert len(applied) == len(set(applied)), consumer.name
        assert set(applied) == wanted, consumer.name
        # The two replicas' own counts add up to that: each event applied by one of them, once.
        pair = replicas.consumers[consumer.name]
        per_replica = [await _applied_by(service, consumer.durable) for service in pair]
        assert sum(per_replica) == len(applied), consumer.name
        report[consumer.name] = per_replica
    print(f"scale-out: {json.dumps(report)}")


async def _published_outbox(database_url: str, deadline: float) -> list[str]:
    """Identity's outbox event ids in `seq` order, once none waits to be published."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            while True:
                pending = await connection.scalar(
                    sa.text("SELECT count(*) FROM outbox_message WHERE published_at IS NULL")
                )
                await connection.commit()
                if pending == 0:
                    break
                assert time.monotonic() < deadline, f"{pending} events never left the outbox"
                await asyncio.sleep(0.2)
            rows = await connection.execute(sa.text("SELECT id FROM outbox_message ORDER BY seq"))
            return [str(row[0]) for row in rows]
    finally:
        await engine.dispose()


async def _applied_in(
    database_url: str, durable: str, school: str, students: int, deadline: float
) -> list[str]:
    """The event ids a service's roster consumer applied, once it knows every student."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
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
                assert time.monotonic() < deadline, f"{durable} knows {known} of {students}"
                await asyncio.sleep(0.2)
            rows = await connection.execute(
                sa.text("SELECT event_id FROM inbox_message WHERE consumer = :c"), {"c": durable}
            )
            return [str(row[0]) for row in rows]
    finally:
        await engine.dispose()
