"""The session dependency is the one commit point, on PostgreSQL and on SQLite alike."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, select

from licheng.contracts.events import STREAMS, OutcomesTermReopened
from licheng.kit.audit import AuditEntry, record_audit
from licheng.kit.db import (
    SessionDep,
    create_engine,
    create_session_factory,
    release_connection,
)
from licheng.kit.errors import Conflict, install_error_handlers
from licheng.kit.events import ensure_streams
from licheng.kit.inbox import InboxMessage
from licheng.kit.outbox import OutboxMessage, OutboxRelay, record_event
from licheng.testing.fixtures import DatabaseFactory

KIT_TABLES = [t.__table__ for t in (OutboxMessage, InboxMessage, AuditEntry)]  # type: ignore[attr-defined]


@pytest.fixture
async def engine(make_database: DatabaseFactory) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await make_database("session"))
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=KIT_TABLES))
    yield engine
    await engine.dispose()


def _app(engine: AsyncEngine) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.session_factory = create_session_factory(engine)

    @app.post("/changes/{outcome}")
    async def change(outcome: str, session: SessionDep) -> dict[str, str]:
        entry = record_audit(
            session,
            school_code="011302",
            actor_id=uuid.uuid4(),
            action="outcome.updated",
            entity="outcome",
            entity_id=outcome,
            after={"brief": "更新後的簡述"},
        )
        record_event(
            session,
            OutcomesTermReopened(
                submission_id=uuid.uuid4(), academic_year=115, semester=1
            ).envelope(school_code="011302", actor_id=None),
        )
        await session.flush()
        if outcome == "refused":
            raise Conflict("資料已被變更，請重新整理後再試")
        if outcome == "clash":
            # A second row with the same primary key: the commit itself fails.
            session.add(
                AuditEntry(
                    id=entry.id,
                    school_code="011302",
                    action="x",
                    entity="outcome",
                    entity_id="clash",
                )
            )
        return {"ok": outcome}

    return app


async def _counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as connection:
        audits = (
            await connection.execute(sa.select(sa.func.count()).select_from(AuditEntry))
        ).scalar_one()
        events = (
            await connection.execute(sa.select(sa.func.count()).select_from(OutboxMessage))
        ).scalar_one()
    return int(audits), int(events)


async def test_success_commits_change_audit_and_event_together(engine: AsyncEngine) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_app(engine)), base_url="http://t"
    ) as client:
        response = await client.post("/changes/kept")
    assert response.status_code == 200
    assert await _counts(engine) == (1, 1)
    async with create_session_factory(engine)() as session:
        entry = (await session.exec(select(AuditEntry))).one()
    assert entry.after == {"brief": "更新後的簡述"}


async def test_an_error_rolls_everything_back(engine: AsyncEngine) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_app(engine)), base_url="http://t"
    ) as client:
        response = await client.post("/changes/refused")
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert await _counts(engine) == (0, 0)


async def test_a_failed_commit_is_an_error_response_not_a_200(engine: AsyncEngine) -> None:
    transport = httpx.ASGITransport(app=_app(engine), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/changes/clash")
    # A constraint the commit trips over is a conflict (a race, a clash), not a crash.
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert await _counts(engine) == (0, 0)


async def test_relay_publishes_from_either_database(
    engine: AsyncEngine, nats_client: NatsClient
) -> None:
    js = nats_client.jetstream()
    await ensure_streams(js, "course_outcomes")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_app(engine)), base_url="http://t"
    ) as client:
        for n in range(3):
            assert (await client.post(f"/changes/o{n}")).status_code == 200
    relay = OutboxRelay(
        service="course_outcomes", session_factory=create_session_factory(engine), jetstream=js
    )
    assert await relay.publish_pending() == (3, True)
    assert await relay.publish_pending() == (0, True)
    info = await js.stream_info(STREAMS["course_outcomes"].name)
    assert info.state.messages == 3


def test_a_crash_log_withholds_what_the_database_said() -> None:
    from licheng.kit.safe_errors import safe_message, safe_traceback

    class UniqueViolation(Exception):  # shaped like asyncpg's
        constraint_name = "uq_person_username"

    UniqueViolation.__module__ = "asyncpg.exceptions"
    database = UniqueViolation("DETAIL: Key (username)=(011302-s-110777) already exists.")
    outer = sa.exc.IntegrityError("INSERT INTO person VALUES ($1)", None, database)
    outer.__cause__ = database
    text = safe_traceback(outer)
    assert "110777" not in text
    assert "uq_person_username" in text
    assert "INSERT INTO person" in text
    assert "110777" not in safe_message(outer)
    assert safe_message(ValueError("plain")) == "ValueError: plain"


async def test_a_released_session_reads_fresh_rows_and_refuses_after_writes(
    engine: AsyncEngine,
) -> None:
    factory = create_session_factory(engine)
    async with factory() as writer:
        entry = record_audit(
            writer, school_code="011302", actor_id=None, action="a", entity="e", entity_id="1"
        )
        await writer.commit()
    async with factory() as session:
        seen = (await session.exec(select(AuditEntry))).one()
        await release_connection(session)  # read-only so far: the connection goes back
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        async with factory() as other:  # someone changes the row while we wait on the network
            (await other.exec(select(AuditEntry))).one().action = "changed"
            await other.commit()
        assert seen.action == "a"  # what the first phase loaded stays readable
        again = (await session.exec(select(AuditEntry).where(AuditEntry.id == entry.id))).one()
        assert again is seen
        assert seen.action == "changed"  # read again: refreshed, not stale
        seen.entity_id = "2"
        await session.flush()
        with pytest.raises(RuntimeError):  # a session that wrote is never committed early
            await release_connection(session)
        await session.rollback()
    async with factory() as check:
        assert (await check.exec(select(AuditEntry))).one().entity_id == "1"


@pytest.mark.postgresql_only(reason="terminating a server backend is a PostgreSQL notion")
async def test_a_pooled_connection_the_server_closed_is_replaced_not_failed(
    engine: AsyncEngine,
) -> None:
    pid = sa.text("select pg_backend_pid()")
    async with engine.connect() as victim, engine.connect() as other:
        victim_pid = (await victim.execute(pid)).scalar_one()
    # Both are back in the pool; the server ends one of them (a restart or an operator would).
    async with engine.connect() as other:
        own = (await other.execute(pid)).scalar_one()
        target = victim_pid if own != victim_pid else None
        if target is None:  # the pool handed back the victim itself: end the other one
            async with engine.connect() as spare:
                target = (await spare.execute(pid)).scalar_one()
        ended = await other.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": target})
        assert ended.scalar_one() is True
    await asyncio.sleep(0.3)  # the closed socket reaches asyncpg
    pids = set()
    async with engine.connect() as first, engine.connect() as second:
        for connection in (first, second):
            pids.add((await connection.execute(pid)).scalar_one())
    assert target not in pids
    assert len(pids) == 2
