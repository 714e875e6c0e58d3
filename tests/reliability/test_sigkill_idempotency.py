"""SIGKILL mid-request: the client's retry with the same Idempotency-Key never duplicates.

Identity runs as a real process (`licheng-identity serve`, uvicorn as deployed). An admin posts
an announcement with an `Idempotency-Key`, its JSON body streamed slowly so the request can be
caught in flight; the process is killed with SIGKILL (as a crashed pod), started again, and the
client retries with the same key until it gets a final answer. Two kill points: while the body
is still arriving (nothing done yet), and 20 ms after the body was sent (the work may or may
not have committed, its answer may or may not be kept: every outcome has been seen). Each time
exactly one announcement exists afterwards, and the retry's answer is the original
(`Idempotent-Replay`), a clean redo, or, when the work committed but the process died before
keeping its answer, 409 `request_already_done`; never a second copy.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from licheng.identity.cli import MIGRATIONS_DIR
from licheng.kit.db import create_engine
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.processes import Service, service_env, service_process, wait_ready
from licheng.testing.servers import free_port

TAKEOVER_SECONDS = 2.0  # idempotency_takeover_seconds of the process under test
RETRY_DEADLINE_SECONDS = 20.0
API = "/api/identity/v1"


class Identity:
    """Starts, kills and restarts one identity process on one port and database."""

    def __init__(self, env: dict[str, str], port: int, work: Path) -> None:
        self.env = env
        self.port = port
        self.work = work
        self.starts = 0
        self.url = f"http://127.0.0.1:{port}"

    @contextmanager
    def process(self) -> Iterator[Service]:
        """One run of the process; stopped (if still alive) afterwards."""
        self.starts += 1
        label = f"identity-run{self.starts}"
        with service_process("identity", self.env, self.port, self.work, label=label) as service:
            yield service


@pytest.fixture
async def database(migrated_database: MigratedDatabaseFactory) -> str:
    return await migrated_database(MIGRATIONS_DIR, "f2_sigkill")


@pytest.fixture
async def engine(database: str) -> AsyncIterator[sa.ext.asyncio.AsyncEngine]:
    engine = create_engine(database)
    yield engine
    await engine.dispose()


def _identity(infra: TestInfra, issuer: TestIssuer, database: str, work: Path) -> Identity:
    values = {
        "environment": "test",
        "database_url": database,
        "nats_url": infra.nats_url,
        "s3_endpoint": infra.s3_endpoint,
        "s3_access_key": infra.s3_access_key,
        "s3_secret_key": infra.s3_secret_key,
        "jwks_url": issuer.jwks_url,
        "jwt_issuer": issuer.issuer,
        "jwt_audience": issuer.audience,
        "idempotency_takeover_seconds": str(TAKEOVER_SECONDS),
        "log_level": "WARNING",
    }
    return Identity(service_env("LICHENG_IDENTITY_", values), free_port(), work)


async def _count(engine: sa.ext.asyncio.AsyncEngine, query: str, **params: object) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(sa.text(query), params)).scalar_one())


async def _until(check: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():  # type: ignore[misc]
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.02)


async def _final_answer(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
                        ) -> tuple[httpx.Response, int]:  # fmt: skip
    """Retry (as a client would) until the answer is not 'still in progress'; with the number of
    409 request_in_progress answers seen first."""
    deadline = time.monotonic() + RETRY_DEADLINE_SECONDS
    in_progress = 0
    while True:
        response = await client.post(url, content=body, headers=headers)
        if response.status_code != 409 or response.json()["error"] != "request_in_progress":
            return response, in_progress
        in_progress += 1
        assert time.monotonic() < deadline, "the key stayed in progress: a retry never got in"
        await asyncio.sleep(0.25)


async def test_a_request_killed_mid_way_is_retried_without_a_duplicate(
    infra: TestInfra,
    issuer: TestIssuer,
    database: str,
    engine: sa.ext.asyncio.AsyncEngine,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    identity = _identity(infra, issuer, database, tmp_path)
    school = f"{uuid.uuid4().int % 10**6:06d}"
    admin = issuer.headers(person_id=uuid.uuid4(), groups=[f"/schools/{school}/admin"])
    url = f"{identity.url}{API}/schools/{school}/announcements"
    kill_points = ["mid-body", "body-sent+20ms"]
    answers: list[str] = []
    records = duplicated = 0
    in_progress = 0  # retries answered 409 request_in_progress before one got through
    started = time.monotonic()
    with ExitStack() as processes:
        service = processes.enter_context(identity.process())
        await wait_ready(service)
        async with httpx.AsyncClient(timeout=10.0) as client:
            created = await client.post(
                f"{identity.url}{API}/schools",
                json={"code": school, "name": "國立測試高級中學", "academic_year": 115,
                      "semester": 1, "admin": {"staff_no": "A001", "name": "系統管理員",
                                               "email": "admin@school.tw"}},
                headers=issuer.headers(groups=["/district/operators"]),
            )  # fmt: skip
            assert created.status_code == 201, created.text
        for attempt, kill_point in enumerate(kill_points):
            title = f"停課通知 {attempt}"
            body = json.dumps(
                {"title": title, "body": "颱風來襲，明日停課", "audience": "all"},
                ensure_ascii=False,
            ).encode()
            headers = {**admin, "content-type": "application/json",
                       "idempotency-key": f"announce-{uuid.uuid4()}"}  # fmt: skip
            first_answer, left_pending = await _kill_in_flight(
                service, engine, url, body, headers, kill_point
            )
            if kill_point == "mid-body":  # cut off before any work; the key is left PENDING,
                assert (first_answer, left_pending) == (0, True)  # which used to refuse for good
            service = processes.enter_context(identity.process())  # the pod restarts
            await wait_ready(service)
            async with httpx.AsyncClient(timeout=10.0) as client:
                retried, held = await _final_answer(client, url, body, headers)
                in_progress += held
                if retried.status_code == 201:
                    replayed = retried.headers.get("idempotent-replay") == "true"
                    answers.append("original" if replayed else "redo")
                else:
                    assert (retried.status_code, retried.json()["error"]) == (
                        409, "request_already_done"), retried.text  # fmt: skip
                    answers.append("already_done")
                # The answer is kept just after it is sent: a retry at once may find it held.
                again, _ = await _final_answer(client, url, body, headers)
            assert again.status_code == retried.status_code, again.text  # the answer is kept
            if again.status_code == 201:
                assert again.headers.get("idempotent-replay") == "true"
            if kill_point == "mid-body":
                assert answers[-1] == "redo"  # nothing had been done: done once now
            stored = await _count(
                engine, "SELECT count(*) FROM announcement WHERE title = :title", title=title
            )
            records += stored
            duplicated += max(0, stored - 1)
            assert stored == 1, f"{kill_point}: {stored} announcements after the retry"

    line = f"FAULT sigkill attempts={len(kill_points)} records={records} duplicated={duplicated}"
    seconds = time.monotonic() - started
    print(f"{line} answers={','.join(answers)} in_progress_answers={in_progress} s={seconds:.1f}")
    record_property("fault_sigkill", line)
    record_property("fault_sigkill_answers", ",".join(answers))
    _assert_no_errors_logged(tmp_path)


async def _kill_in_flight(
    service: Service,
    engine: sa.ext.asyncio.AsyncEngine,
    url: str,
    body: bytes,
    headers: dict[str, str],
    kill_point: str,
) -> tuple[int, bool]:
    """Send `body` slowly and SIGKILL the process at `kill_point`; the status the client got
    (0 when cut off) and whether the key was left PENDING."""
    pending = "SELECT count(*) FROM idempotency_record WHERE status_code = 0"
    before = await _count(engine, pending)
    rest_may_go = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield body[:20]
        await rest_may_go.wait()
        yield body[20:]

    async def in_flight() -> bool:
        return await _count(engine, pending) > before

    async with httpx.AsyncClient(timeout=10.0) as client:
        sending = asyncio.create_task(client.post(url, content=slow_body(), headers=headers))
        await _until(in_flight, timeout=30)  # the middleware holds the key PENDING: it runs
        if kill_point != "mid-body":
            rest_may_go.set()
            await asyncio.sleep(0.02)
        service.kill()
        rest_may_go.set()  # the client sends the rest into a closed connection
        try:
            answer = (await asyncio.wait_for(sending, timeout=10)).status_code
        except httpx.TransportError:
            answer = 0  # cut off, as a client sees a crashed pod
    return answer, await _count(engine, pending) > before


def _assert_no_errors_logged(folder: Path) -> None:
    for log in folder.glob("identity-run*.log"):
        text = log.read_text(errors="replace")
        assert '"level": "error"' not in text, f"{log.name}:\n{text[-3000:]}"
