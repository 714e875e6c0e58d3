"""Outbox → JetStream → consumer on real PostgreSQL and NATS: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from nats.aio.client import Client as NatsClient
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col, select

from licheng.contracts.events import STREAMS, Event, EventEnvelope, dead_letter_subject
from licheng.kit.audit import AuditEntry
from licheng.kit.db import SessionFactory, create_engine, create_session_factory
from licheng.kit.events import connect_nats, ensure_streams
from licheng.kit.inbox import ConsumerRunner, ConsumerSpec, InboxMessage, PoisonMessage
from licheng.kit.outbox import OutboxMessage, OutboxRelay, count_unpublished, record_event
from licheng.kit.timeutil import utcnow
from licheng.testing.fixtures import DatabaseFactory
from licheng.testing.servers import NatsServerProcess

SCRIPT = Path(__file__).with_name("effect_consumer.py")


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("effect_consumer", SCRIPT)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


consumer_script = _load_script()
effects: sa.Table = consumer_script.effects


def _event(n: int) -> EventEnvelope:
    return consumer_script.EffectRequested(n=n).envelope(school_code="011302", actor_id=None)


@pytest.fixture
async def database(make_database: DatabaseFactory) -> AsyncIterator[tuple[str, AsyncEngine]]:
    url = await make_database("events")
    engine = create_engine(url)
    kit_tables = [t.__table__ for t in (OutboxMessage, InboxMessage, AuditEntry)]  # type: ignore[attr-defined]
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=kit_tables))
        await connection.run_sync(consumer_script.metadata.create_all)
    yield url, engine
    await engine.dispose()


async def _effect_counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as connection:
        total = (await connection.execute(sa.select(sa.func.count()).select_from(effects))).one()
        distinct = (
            await connection.execute(sa.select(sa.func.count(sa.distinct(effects.c.event_id))))
        ).one()
    return int(total[0]), int(distinct[0])


async def _eventually(check: Callable[[], Awaitable[bool]], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _write_events(factory: SessionFactory, numbers: range) -> None:
    async with factory() as session:
        for n in numbers:
            record_event(session, _event(n))
        await session.commit()


async def test_events_are_published_only_when_the_change_commits(
    database: tuple[str, AsyncEngine], nats_client: NatsClient
) -> None:
    _, engine = database
    factory = create_session_factory(engine)
    js = nats_client.jetstream()
    await ensure_streams(js, "identity")
    async with factory() as session:
        record_event(session, _event(1))
        await session.rollback()
    await _write_events(factory, range(2, 3))
    relay = OutboxRelay(service="identity", session_factory=factory, jetstream=js)
    published, complete = await relay.publish_pending()
    assert (published, complete) == (1, True)
    info = await js.stream_info(STREAMS["identity"].name)
    assert info.state.messages == 1
    message = await js.get_last_msg(STREAMS["identity"].name, "identity.011302.effect.requested")
    assert EventEnvelope.model_validate_json(message.data or b"").data["n"] == 2
    assert message.headers
    assert message.headers.get("Nats-Msg-Id")


async def test_effect_applies_once_when_the_consumer_dies_before_acking(
    database: tuple[str, AsyncEngine], nats_client: NatsClient, infra: object
) -> None:
    url, engine = database
    js = nats_client.jetstream()
    await ensure_streams(js, "identity")
    durable = f"dies-{uuid.uuid4().hex[:8]}"
    envelope = _event(7)
    await js.publish(envelope.subject, envelope.model_dump_json().encode())
    nats_url = nats_client.connected_url
    assert nats_url is not None
    nats_address = f"nats://{nats_url.hostname}:{nats_url.port}"

    crashed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(SCRIPT), url, nats_address, durable, "--die-after-commit"],
        capture_output=True,
        timeout=60,
    )
    assert crashed.returncode == 3, crashed.stderr.decode()[-2000:]
    assert await _effect_counts(engine) == (1, 1)  # the effect committed ...
    info = await js.consumer_info(STREAMS["identity"].name, durable)
    assert info.num_ack_pending == 1  # ... but the message was never acked

    factory = create_session_factory(engine)
    survivor = ConsumerRunner(
        spec=consumer_script.spec(durable), session_factory=factory, jetstream=js
    )
    survivor.start()
    try:

        async def redelivered_and_acked() -> bool:
            state = await js.consumer_info(STREAMS["identity"].name, durable)
            delivered_twice = (state.delivered.consumer_seq or 0) >= 2
            return delivered_twice and state.num_ack_pending == 0 and state.num_pending == 0

        await _eventually(redelivered_and_acked, timeout=30, what="redelivery and ack")
    finally:
        await survivor.stop()
    assert await _effect_counts(engine) == (1, 1)
    duplicates = REGISTRY.get_sample_value(
        "licheng_events_handled_total", {"consumer": durable, "outcome": "duplicate"}
    )
    assert duplicates == 1.0


async def test_nats_restart_in_the_middle_of_1000_events_loses_none(
    database: tuple[str, AsyncEngine], private_nats: NatsServerProcess
) -> None:
    _, engine = database
    factory = create_session_factory(engine)
    client = await connect_nats(private_nats.url, name="restart-test", reconnect_time_wait=0.2)
    js = client.jetstream()
    await ensure_streams(js, "identity")
    relay = OutboxRelay(
        service="identity", session_factory=factory, jetstream=js, publish_timeout=1.0
    )
    consumer = ConsumerRunner(
        spec=consumer_script.spec("restart-survivor", ack_wait=5.0),
        session_factory=factory,
        jetstream=js,
    )
    relay.start()
    consumer.start()
    try:
        await _write_events(factory, range(0, 400))

        async def some_applied() -> bool:
            return (await _effect_counts(engine))[0] >= 150

        await _eventually(some_applied, timeout=60, what="the first effects")
        private_nats.stop()
        await _write_events(factory, range(400, 700))  # written while NATS is away
        await asyncio.sleep(1.0)
        private_nats.start()
        await _write_events(factory, range(700, 1000))

        async def all_applied() -> bool:
            return (await _effect_counts(engine))[0] >= 1000

        await _eventually(all_applied, timeout=120, what="all 1,000 effects")
        await asyncio.sleep(1.0)  # let any straggling redelivery show itself
    finally:
        await consumer.stop()
        await relay.stop()
        await client.close()
    assert await _effect_counts(engine) == (1000, 1000)
    async with factory() as session:
        assert await count_unpublished(session) == 0


@pytest.mark.expected_errors("consumer.dead_lettered")
async def test_a_message_that_keeps_failing_is_dead_lettered(
    database: tuple[str, AsyncEngine], nats_client: NatsClient, capsys: pytest.CaptureFixture[str]
) -> None:
    _, engine = database
    js = nats_client.jetstream()
    await ensure_streams(js, "identity")
    attempts = 0

    async def always_fails(_session: object, _event: Event[Any]) -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("the read model rejects this")

    durable = f"fails-{uuid.uuid4().hex[:8]}"
    dead = await nats_client.subscribe(dead_letter_subject(durable))
    runner = ConsumerRunner(
        spec=ConsumerSpec(
            durable=durable,
            stream=STREAMS["identity"].name,
            handlers={consumer_script.EffectRequested: always_fails},
            max_deliver=3,
            backoff_seconds=(0.1,),
        ),
        session_factory=create_session_factory(engine),
        jetstream=js,
    )
    envelope = _event(9)
    await js.publish(envelope.subject, envelope.model_dump_json().encode())
    runner.start()

    async def counted() -> bool:
        sample = REGISTRY.get_sample_value(
            "licheng_events_handled_total", {"consumer": durable, "outcome": "dead_lettered"}
        )
        return sample == 1.0

    try:
        message = await dead.next_msg(timeout=20)
        await _eventually(counted, timeout=5, what="the dead-letter metric")
    finally:
        await runner.stop()
    assert attempts == 3
    assert message.headers is not None
    assert message.headers["Licheng-Event-Id"] == str(envelope.id)
    assert message.headers["Licheng-Original-Subject"] == envelope.subject
    assert "RuntimeError" in message.headers["Licheng-Error"]
    assert EventEnvelope.model_validate_json(message.data) == envelope
    assert await _effect_counts(engine) == (0, 0)
    assert "consumer.dead_lettered" in capsys.readouterr().out
    info = await js.stream_info(STREAMS["dead_letters"].name)
    assert info.state.messages >= 1


@pytest.mark.expected_errors("consumer.dead_lettered")
async def test_poison_and_malformed_messages_go_straight_to_dead_letters(
    database: tuple[str, AsyncEngine], nats_client: NatsClient
) -> None:
    _, engine = database
    js = nats_client.jetstream()
    await ensure_streams(js, "identity")
    calls = 0

    async def refuses(_session: object, _event: Event[Any]) -> None:
        nonlocal calls
        calls += 1
        raise PoisonMessage("unknown job type")

    durable = f"poison-{uuid.uuid4().hex[:8]}"
    dead = await nats_client.subscribe(dead_letter_subject(durable))
    runner = ConsumerRunner(
        spec=ConsumerSpec(
            durable=durable,
            stream=STREAMS["identity"].name,
            handlers={consumer_script.EffectRequested: refuses},
        ),
        session_factory=create_session_factory(engine),
        jetstream=js,
    )
    envelope = _event(1)
    await js.publish(envelope.subject, envelope.model_dump_json().encode())
    await js.publish(envelope.subject, b"{not json")
    # The right type, but data its model refuses: poison at once, the handler never sees it.
    wrong = EventEnvelope(type=envelope.type, school_code="011302", data={"n": "many"})
    await js.publish(wrong.subject, wrong.model_dump_json().encode())
    runner.start()
    try:
        dead_letters = [await dead.next_msg(timeout=10) for _ in range(3)]
    finally:
        await runner.stop()
    assert calls == 1
    errors = [m.headers["Licheng-Error"] for m in dead_letters if m.headers]
    assert len(errors) == 3
    assert any("poison" in e and "unknown job type" in e for e in errors)
    assert any("malformed" in e for e in errors)
    assert any("does not match its model" in e for e in errors)


@pytest.mark.expected_errors("outbox.dead_lettered")
async def test_an_outbox_row_that_always_fails_is_set_aside_and_the_rest_go_on(
    database: tuple[str, AsyncEngine], nats_client: NatsClient
) -> None:
    _, engine = database
    factory = create_session_factory(engine)
    js = nats_client.jetstream()
    await ensure_streams(js, "identity")
    poison = _event(1)
    async with factory() as session:
        # A subject no stream takes: JetStream refuses it however often it is tried.
        session.add(
            OutboxMessage(
                id=poison.id,
                subject="nowhere.011302.thing.happened",
                payload=poison.model_dump_json(),
            )
        )
        await session.commit()
    await _write_events(factory, range(2, 4))
    dead = await nats_client.subscribe(dead_letter_subject("outbox.identity"))
    relay = OutboxRelay(
        service="identity", session_factory=factory, jetstream=js, publish_timeout=1.0,
        max_attempts=3,
    )  # fmt: skip
    assert await relay.publish_pending() == (0, False)
    assert await relay.publish_pending() == (0, False)  # still blocking the rows behind it
    assert await relay.publish_pending() == (2, True)  # third failure: set aside, the rest go
    message = await dead.next_msg(timeout=5)
    assert message.headers is not None
    assert message.headers["Licheng-Event-Id"] == str(poison.id)
    assert message.headers["Licheng-Original-Subject"] == "nowhere.011302.thing.happened"
    assert EventEnvelope.model_validate_json(message.data).id == poison.id
    info = await js.stream_info(STREAMS["identity"].name)
    assert info.state.messages == 2
    async with factory() as session:
        assert await count_unpublished(session) == 0
        row = await session.get(OutboxMessage, 1)
        assert row is not None
        assert row.id == poison.id
        assert (row.last_error or "").startswith("dead-lettered after 3 attempts")
    sample = REGISTRY.get_sample_value(
        "licheng_outbox_dead_lettered_total", {"service": "identity"}
    )
    assert sample is not None
    assert sample >= 1


@pytest.mark.expected_errors("consumer.dead_lettered")
async def test_a_batch_commits_once_and_a_bad_message_in_it_fails_alone(
    database: tuple[str, AsyncEngine], nats_client: NatsClient
) -> None:
    _, engine = database
    js = nats_client.jetstream()
    await ensure_streams(js, "identity")
    failed_once: set[int] = set()

    async def picky(session: Any, event: Event[Any]) -> None:
        n = event.data.n
        await consumer_script.apply_effect(session, event)  # written, then maybe rolled back
        if n == 3:
            raise PoisonMessage("never applicable")
        if n == 4 and n not in failed_once:
            failed_once.add(n)
            raise RuntimeError("the read model is busy")

    durable = f"batch-{uuid.uuid4().hex[:8]}"
    dead = await nats_client.subscribe(dead_letter_subject(durable))
    commits = 0

    def count(_connection: object) -> None:
        nonlocal commits
        commits += 1

    factory = create_session_factory(engine)
    sa.event.listen(engine.sync_engine, "commit", count)  # real COMMITs, not savepoints
    runner = ConsumerRunner(
        spec=ConsumerSpec(
            durable=durable,
            stream=STREAMS["identity"].name,
            handlers={consumer_script.EffectRequested: picky},
            backoff_seconds=(0.1,),
        ),
        session_factory=factory,
        jetstream=js,
    )
    await runner.ensure_consumer()  # deliver from now: the stream holds other tests' events
    for n in range(1, 11):
        envelope = _event(n)
        await js.publish(envelope.subject, envelope.model_dump_json().encode())
    runner.start()

    async def nine_applied() -> bool:
        return await _effect_counts(engine) == (9, 9)

    try:
        poisoned = await dead.next_msg(timeout=10)
        await _eventually(nine_applied, timeout=10, what="the nine good events")
    finally:
        await runner.stop()
        sa.event.remove(engine.sync_engine, "commit", count)
    assert EventEnvelope.model_validate_json(poisoned.data).data == {"n": 3}
    async with engine.connect() as connection:
        values = (await connection.execute(sa.select(effects.c.value))).scalars().all()
    assert sorted(values) == [1, 2, 4, 5, 6, 7, 8, 9, 10]  # 3's rolled-back row is not there
    assert failed_once == {4}
    assert commits <= 4  # the batch in one commit (and 4's retry), not one per event


def _pruned() -> float:
    return REGISTRY.get_sample_value("licheng_outbox_pruned_total", {"service": "identity"}) or 0.0


async def test_published_rows_past_retention_are_pruned_and_nothing_else(
    database: tuple[str, AsyncEngine], nats_client: NatsClient
) -> None:
    _, engine = database
    factory = create_session_factory(engine)
    js = nats_client.jetstream()
    await ensure_streams(js, "identity")
    await _write_events(factory, range(1, 8))
    relay = OutboxRelay(
        service="identity",
        session_factory=factory,
        jetstream=js,
        retention=timedelta(days=7),
        prune_batch=2,  # several batches
    )
    assert await relay.publish_pending() == (7, True)
    await _write_events(factory, range(8, 10))  # not yet published: never pruned
    async with factory() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.seq)))).all()
        long_ago = utcnow() - timedelta(days=8)
        for row in rows[:7]:
            row.published_at = long_ago
        rows[5].published_at = utcnow() - timedelta(days=6)  # still within the retention
        await session.commit()
        expected_left = [rows[5].seq, rows[7].seq, rows[8].seq]
        newest = rows[8].seq
    before = _pruned()

    assert await relay.prune() == 6
    async with factory() as session:
        left = (
            await session.exec(select(OutboxMessage.seq).order_by(col(OutboxMessage.seq)))
        ).all()
    assert list(left) == expected_left
    assert _pruned() - before == 6
    assert await relay.publish_pending() == (2, True)  # the unpublished ones still go out

    # Everything published and old: the newest row stays, so the sequence never goes back.
    async with factory() as session:
        for row in (await session.exec(select(OutboxMessage))).all():
            row.published_at = utcnow() - timedelta(days=30)
        await session.commit()
    assert await relay.prune() == 2
    await _write_events(factory, range(10, 11))
    async with factory() as session:
        seqs = (
            await session.exec(select(OutboxMessage.seq).order_by(col(OutboxMessage.seq)))
        ).all()
    assert seqs[0] == newest
    assert seqs[1] is not None
    assert seqs[1] > newest
