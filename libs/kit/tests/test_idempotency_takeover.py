"""An Idempotency-Key left unanswered by a dead process: a retry takes it over, never twice.

The request's writes and the mark on its key commit in one transaction, so a retry after the
takeover bound can tell "nothing was done" (redo) from "done, answer lost" (refuse), and a slow
original whose key was taken over cannot commit after the retry did.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI, status
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from licheng.kit import idempotency
from licheng.kit.audit import AuditEntry, record_audit
from licheng.kit.auth import TokenVerifier
from licheng.kit.db import SessionDep, create_engine, create_session_factory
from licheng.kit.errors import install_error_handlers
from licheng.kit.idempotency import IdempotencyMiddleware, IdempotencyRecord
from licheng.testing.fixtures import DatabaseFactory, TestIssuer

TAKEOVER_SECONDS = 3.0  # long enough for an "early" retry to come first on a loaded machine
TABLES = [t.__table__ for t in (AuditEntry, IdempotencyRecord)]  # type: ignore[attr-defined]


@pytest.fixture
async def engine(make_database: DatabaseFactory) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await make_database("idem"))
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=TABLES))
    yield engine
    await engine.dispose()


class Work:
    """A service whose POST /entries/{name} writes one audit row; the first call waits on
    `gate` first when one is set (a slow request: a slow upload, a big import)."""

    def __init__(self, engine: AsyncEngine, issuer: TestIssuer) -> None:
        self.engine = engine
        self.gate: asyncio.Event | None = None
        self.calls = 0
        self.started = asyncio.Event()
        app = FastAPI()
        install_error_handlers(app)
        app.state.session_factory = create_session_factory(engine)
        app.state.token_verifier = TokenVerifier(
            jwks_url=issuer.jwks_url, issuer=issuer.issuer, audience=issuer.audience
        )
        app.add_middleware(
            IdempotencyMiddleware, state=app.state, pending_takeover_seconds=TAKEOVER_SECONDS
        )

        @app.post("/entries/{name}", status_code=status.HTTP_201_CREATED)
        async def create(name: str, session: SessionDep) -> dict[str, str]:
            self.calls += 1
            self.started.set()
            if self.gate is not None and self.calls == 1:
                # Waits before writing: on SQLite a write transaction would hold the database.
                await asyncio.wait_for(self.gate.wait(), timeout=10)
            entry = record_audit(
                session,
                school_code="011302",
                actor_id=None,
                action="entry.created",
                entity="entry",
                entity_id=name,
            )
            await session.flush()
            return {"id": str(entry.id)}

        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    async def post(self, name: str, headers: dict[str, str]) -> httpx.Response:
        """POST one entry."""
        return await self.client.post(f"/entries/{name}", headers=headers)

    async def entries(self, name: str) -> int:
        """How many audit rows the entry `name` has."""
        async with self.engine.connect() as connection:
            query = sa.select(sa.func.count()).where(sa.column("entity_id") == name)
            found = await connection.execute(query.select_from(sa.table("audit_log")))
            return int(found.scalar_one())

    async def record_status(self) -> list[int]:
        """The status codes of every kept key."""
        async with self.engine.connect() as connection:
            found = await connection.execute(sa.text("SELECT status_code FROM idempotency_record"))
            return [int(row[0]) for row in found]


@pytest.fixture
async def work(engine: AsyncEngine, issuer: TestIssuer) -> AsyncIterator[Work]:
    service = Work(engine, issuer)
    async with service.client:
        yield service


def _caller(issuer: TestIssuer) -> dict[str, str]:
    return {**issuer.headers(person_id=uuid.uuid4()), "idempotency-key": f"k-{uuid.uuid4()}"}


async def _until_started(work: Work, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        await work.started.wait()


async def test_a_stale_key_is_taken_over_by_one_retry_and_the_slow_original_cannot_commit(
    work: Work, issuer: TestIssuer
) -> None:
    headers = _caller(issuer)
    work.gate = asyncio.Event()
    original = asyncio.create_task(work.post("e1", headers))
    await _until_started(work)
    early = await work.post("e1", headers)
    assert (early.status_code, early.json()["error"]) == (409, "request_in_progress")

    await asyncio.sleep(TAKEOVER_SECONDS + 0.1)
    retries = await asyncio.gather(*(work.post("e1", headers) for _ in range(3)))
    ran = [r for r in retries if r.status_code == 201 and "idempotent-replay" not in r.headers]
    assert len(ran) == 1  # one took it over; the others were told to wait, or got its answer
    winner = ran[0]
    for other in (r for r in retries if r is not winner):
        if other.status_code == 201:
            assert other.json() == winner.json()  # a replay of the winner's answer
        else:
            assert (other.status_code, other.json()["error"]) == (409, "request_in_progress")
    assert await work.entries("e1") == 1

    work.gate.set()
    late = await original
    assert (late.status_code, late.json()["error"]) == (409, "request_taken_over")
    assert "重新整理" in late.json()["message"]
    assert await work.entries("e1") == 1  # the original's writes rolled back

    again = await work.post("e1", headers)
    assert (again.status_code, again.json()) == (201, winner.json())
    assert again.headers["idempotent-replay"] == "true"


async def test_work_committed_whose_answer_was_lost_is_never_done_again(
    work: Work, issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = _caller(issuer)

    async def process_dies_before_keeping_the_answer(*_args: Any, **_kwargs: Any) -> None:
        return None

    monkeypatch.setattr(idempotency, "_keep", process_dies_before_keeping_the_answer)
    assert (await work.post("e2", headers)).status_code == 201
    monkeypatch.undo()
    assert await work.record_status() == [idempotency.WORK_COMMITTED]  # marked with the work

    soon = await work.post("e2", headers)
    assert (soon.status_code, soon.json()["error"]) == (409, "request_in_progress")
    await asyncio.sleep(TAKEOVER_SECONDS + 0.1)
    later = await work.post("e2", headers)
    assert (later.status_code, later.json()["error"]) == (409, "request_already_done")
    assert "重新整理" in later.json()["message"]
    assert await work.entries("e2") == 1
    assert work.calls == 1
