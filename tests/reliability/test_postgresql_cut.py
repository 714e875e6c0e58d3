"""Fault: PostgreSQL is cut for 10 s under a steady stream of students' edits.

Course-outcomes reaches its database through a TCP proxy on loopback; students keep editing
their drafts (each edit is one commit and one `outcome.updated` event in the outbox; half the
students send an `Idempotency-Key`, as the portal does, so the idempotency middleware's own
database access meets the cut too). The proxy first holds the bytes until a request is waiting
on the database, then is cut — the server vanishes and every open connection drops — for 10 s,
then restored. Every request answered during the cut is a 503 `database_unavailable` with a
zh-TW message and `Retry-After`, quickly (never a hang, never a 500, nothing logged as a
crash); afterwards edits succeed again, every edit answered 2xx is stored with its event, and
the relay publishes every event exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import pytest
import sqlalchemy as sa
from nats.aio.client import Client as NatsClient
from prometheus_client import REGISTRY
from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import STREAMS, Event, EventPayload
from licheng.kit.db import create_engine, create_session_factory
from licheng.kit.events import ensure_streams
from licheng.kit.inbox import ConsumerRunner, ConsumerSpec, InboxMessage
from licheng.testing.fixtures import DatabaseFactory
from licheng.testing.infra import TestInfra
from licheng.testing.servers import TcpProxy

pytestmark = pytest.mark.postgresql_only(
    reason="cuts the database's TCP connection; an embedded SQLite file has no connection to cut"
)

CUT_SECONDS = 10.0
BEFORE_AND_AFTER_SECONDS = 2.0
PAUSE_BETWEEN_EDITS = 0.1
# A request during the cut fails at its first statement: the proxy refuses the connection at
# once (a connect that hangs instead is given up after asyncpg's 3 s connect timeout, kit.db).
# A hang would last until asyncpg's 30 s command timeout or the gateway's 30 s upstream
# timeout; 8 s is far below those and leaves room for a loaded 2-core CI machine.
LATENCY_BOUND_SECONDS = 8.0
RETRIED_PER_STUDENT = 10


@dataclass
class Edits:
    """What one student's edits were answered."""

    ok: list[tuple[str, int]] = field(default_factory=list)  # (brief, version) of each 2xx
    refused: list[httpx.Response] = field(default_factory=list)  # every non-2xx
    keyed: list[tuple[str, str]] = field(default_factory=list)  # (brief, key) of each refused
    latencies: list[float] = field(default_factory=list)


@pytest.fixture
async def course(course_term: Any) -> AsyncIterator[Any]:
    async with course_term("database") as term:
        yield term


async def _keep_editing(
    course: Any, student: uuid.UUID, stop: asyncio.Event, edits: Edits, *, with_keys: bool
) -> None:
    """Edit the student's draft again and again until `stop` (each edit with a key of its own
    when `with_keys`)."""
    outcome = course.drafts[student]
    n = 0
    while not stop.is_set():
        n += 1
        brief = f"第 {n} 版"
        headers = course.student(student)
        if with_keys:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        started = time.monotonic()
        answer = await course.client.patch(
            f"{course.base}/outcomes/{outcome}", json={"brief": brief}, headers=headers
        )
        edits.latencies.append(time.monotonic() - started)
        if answer.is_success:
            edits.ok.append((brief, answer.json()["version"]))
        else:
            edits.refused.append(answer)
            if with_keys:
                edits.keyed.append((brief, headers["Idempotency-Key"]))
        await asyncio.sleep(PAUSE_BETWEEN_EDITS)


async def test_requests_during_a_database_cut_answer_503_and_nothing_committed_is_lost(
    course: Any,
    nats_client: NatsClient,
    record_property: Callable[[str, object], None],
) -> None:
    stop = asyncio.Event()
    edits = {student: Edits() for student in course.drafts}
    editing = [
        asyncio.create_task(
            _keep_editing(course, student, stop, edits[student], with_keys=n % 2 == 0)
        )
        for n, student in enumerate(course.drafts)
    ]
    await asyncio.sleep(BEFORE_AND_AFTER_SECONDS)
    ok_before_cut = sum(len(e.ok) for e in edits.values())
    # The cut catches requests mid-statement: hold the bytes until one is waiting on the
    # database, then drop every connection.
    course.proxy.pause()
    await asyncio.wait_for(course.proxy.stalled.wait(), timeout=10)
    await course.proxy.cut()
    course.proxy.resume()
    await asyncio.sleep(CUT_SECONDS)
    refused_during_cut = sum(len(e.refused) for e in edits.values())
    ok_before_restore = sum(len(e.ok) for e in edits.values())
    await course.proxy.start()
    await asyncio.sleep(BEFORE_AND_AFTER_SECONDS)
    stop.set()
    await asyncio.gather(*editing)

    refused = [answer for e in edits.values() for answer in e.refused]
    latencies = [seconds for e in edits.values() for seconds in e.latencies]
    # Writes went through before the cut, were refused during it, and go through again after.
    assert ok_before_cut > 0
    assert refused_during_cut > 0
    assert sum(len(e.ok) for e in edits.values()) > ok_before_restore
    for answer in refused:
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "database_unavailable", answer.text
        assert answer.json()["message"] == "資料庫暫時無法連線，請稍後再試"
        assert int(answer.headers["Retry-After"]) > 0
    assert max(latencies) < LATENCY_BOUND_SECONDS, max(latencies)

    # A client retrying a refused edit with its Idempotency-Key gets it done now, even when the
    # cut came between the key's claim and keeping the answer (its pending record is taken
    # over; the test's service takes a pending key over at once, see conftest).
    retried = 0
    for student, outcome_id in course.drafts.items():
        for brief, key in edits[student].keyed[:RETRIED_PER_STUDENT]:
            again = await course.client.patch(
                f"{course.base}/outcomes/{outcome_id}",
                json={"brief": brief},
                headers={**course.student(student), "Idempotency-Key": key},
            )
            assert again.status_code == 200, again.text
            edits[student].ok.append((brief, again.json()["version"]))
            retried += 1
    assert retried > 0

    # Every edit answered 2xx is stored: the draft's version counts them, and its brief is the
    # last one. (An edit answered 503 whose commit reached the server may be stored too.)
    engine = sa.ext.asyncio.create_async_engine(course.database_url)
    try:
        async with engine.connect() as connection:
            for student, outcome_id in course.drafts.items():
                answered = await course.client.get(
                    f"{course.base}/outcomes/{outcome_id}", headers=course.student(student)
                )
                assert answered.status_code == 200, answered.text
                ok = edits[student].ok
                versions = [version for _, version in ok]
                assert versions == sorted(set(versions))  # each 2xx edit a version of its own
                assert answered.json()["version"] >= versions[-1]
                if answered.json()["version"] == versions[-1]:
                    assert answered.json()["brief"] == ok[-1][0]
            # The relay resumes: every event committed (the drafts and every stored edit) leaves
            # the outbox, and each is on the stream exactly once.
            deadline = time.monotonic() + 60
            pending_sql = "SELECT count(*) FROM outbox_message WHERE published_at IS NULL"
            while (pending := await connection.scalar(sa.text(pending_sql))) != 0:
                await connection.commit()
                assert time.monotonic() < deadline, f"{pending} events stay in the outbox"
                await asyncio.sleep(0.2)
            rows = list(
                await connection.execute(sa.text("SELECT subject, payload FROM outbox_message"))
            )
            stored = {
                (data["outcome_id"], data["brief"])
                for subject, payload in rows
                if subject.endswith(".outcome.updated")
                for data in [json.loads(payload)["data"]]
            }
    finally:
        await engine.dispose()
    stream = await nats_client.jetstream().stream_info(STREAMS["course_outcomes"].name)
    sent = sum(len(e.ok) for e in edits.values())
    # Every 2xx edit's event was committed with it (its brief is unique to the edit).
    applied = sum(
        1
        for student, outcome_id in course.drafts.items()
        for brief, _ in edits[student].ok
        if (outcome_id, brief) in stored
    )
    duplicated = max(stream.state.messages - len(rows), 0)
    lost = sent - applied + max(len(rows) - stream.state.messages, 0)
    line = (
        f"FAULT postgresql_cut sent={sent} applied={applied} duplicated={duplicated} lost={lost}"
        f" (writes_2xx={sent} writes_503={len(refused)} retried_with_key={retried}"
        f" edit_events={len(stored)} events_committed={len(rows)}"
        f" on_stream={stream.state.messages}"
        f" max_latency_s={max(latencies):.2f})"
    )
    print(line)
    record_property("fault_postgresql_cut", line)
    assert (duplicated, lost) == (0, 0), line


class FaultProbe(EventPayload):
    """A test-only event (the catalog lists only the contracts' own): one effect row each."""

    event_type: ClassVar[str] = "identity.fault_probe.requested"
    n: int


probe_effects = sa.Table(
    "fault_probe_effect",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Uuid, nullable=False),  # not unique: a duplicate would show
)


async def _apply_probe(session: AsyncSession, event: Event[FaultProbe]) -> None:
    await session.exec(sa.insert(probe_effects).values(event_id=event.id))


CONSUMER_EVENTS_BEFORE, CONSUMER_EVENTS_DURING = 20, 30
CONSUMER_CUT_SECONDS = 4.0


async def test_a_consumer_holds_its_events_through_a_database_cut_and_applies_each_once(
    infra: TestInfra,
    make_database: DatabaseFactory,
    nats_client: NatsClient,
    record_property: Callable[[str, object], None],
) -> None:
    # Redelivery is bounded (two deliveries, 0.2 s apart, then the dead letters): a consumer
    # that spent its deliveries on a database that is away would dead-letter every event that
    # arrived during the cut — lost to its read model. It must wait for the database instead.
    database_url = await make_database("fault_consumer")
    direct = create_engine(database_url)
    async with direct.begin() as connection:
        tables = [InboxMessage.__table__, probe_effects]  # type: ignore[attr-defined]
        await connection.run_sync(lambda c: sa.MetaData().create_all(c, tables=tables))
    proxy = TcpProxy(infra.pg_host, infra.pg_port)
    await proxy.start()
    proxied = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    engine = create_engine(proxied.render_as_string(hide_password=False))
    js = nats_client.jetstream()
    await ensure_streams(js, "identity")
    durable = f"fault-probe-{uuid.uuid4().hex[:8]}"
    runner = ConsumerRunner(
        spec=ConsumerSpec(
            durable=durable,
            stream=STREAMS["identity"].name,
            handlers={FaultProbe: _apply_probe},
            max_deliver=2,
            backoff_seconds=(0.2,),
            ack_wait_seconds=2.0,
        ),
        session_factory=create_session_factory(engine),
        jetstream=js,
    )
    sent: list[uuid.UUID] = []

    async def publish(count: int) -> None:
        for n in range(count):
            envelope = FaultProbe(n=n).envelope(school_code="000000", actor_id=None)
            await js.publish(envelope.subject, envelope.model_dump_json().encode())
            sent.append(envelope.id)

    async def applied() -> list[uuid.UUID]:
        async with direct.connect() as connection:
            found = await connection.execute(sa.select(probe_effects.c.event_id))
            return [uuid.UUID(str(row[0])) for row in found]

    async def all_applied() -> bool:
        return len(set(await applied())) >= len(sent)

    runner.start()
    try:
        await publish(CONSUMER_EVENTS_BEFORE)
        await _until(all_applied, timeout=30, what="the events before the cut")
        await proxy.cut()
        await publish(CONSUMER_EVENTS_DURING)
        await asyncio.sleep(CONSUMER_CUT_SECONDS)  # far longer than two deliveries take
        await proxy.start()
        with contextlib.suppress(AssertionError):  # counted below either way
            await _until(all_applied, timeout=30, what="the events during the cut")
    finally:
        await runner.stop()
        await proxy.cut()
        await engine.dispose()
    effects = await applied()
    await direct.dispose()
    dead = REGISTRY.get_sample_value(
        "licheng_events_handled_total", {"consumer": durable, "outcome": "dead_lettered"}
    )
    duplicated = len(effects) - len(set(effects))
    lost = len(set(sent) - set(effects))
    line = (
        f"FAULT postgresql_cut_consumer sent={len(sent)} applied={len(set(effects) & set(sent))}"
        f" duplicated={duplicated} lost={lost} (dead_lettered={int(dead or 0)})"
    )
    print(line)
    record_property("fault_postgresql_cut_consumer", line)
    assert (duplicated, lost, dead or 0) == (0, 0, 0), line


async def _until(check: Callable[[], Any], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)
