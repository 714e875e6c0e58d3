"""Benchmark P5: event lag from identity's outbox commit to its effect in course-outcomes' roster.

Run after `./licheng infra up`:  uv run python -m bench.event_lag [--quick]
Identity and course-outcomes run as processes (see `bench.campus`) on their own PostgreSQL
databases and a private nats-server. A student import into identity commits the rows and their
outbox events in one transaction; the relay publishes them to JetStream and course-outcomes'
roster consumer writes its `known_person` row. The lag is measured from the moment the import's
response arrives (the commit is done by then) to the moment the row is visible in
course-outcomes' database (polled every 2 ms): for single events (one new student per import)
and for a batch (one import of 300 new students, until the last is known downstream).

The reference, in the same run and on the same nats-server: a bare JetStream publish → push
subscriber delivery, single messages and a batch of the same size.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import httpx
import nats
import sqlalchemy as sa
from nats.aio.msg import Msg
from sqlalchemy.ext.asyncio import AsyncConnection

from bench._support import CLASSES, p50, p95
from bench.campus import Campus, campus
from bench.identity_import import national_id
from bench.rows import Row, render
from licheng.kit.db import create_engine
from licheng.testing.workbooks import xlsx_bytes

GOAL_MS = 250.0
COLUMNS = ["學號", "姓名", "班級", "座號", "身分證號", "出生日期", "在籍狀態"]


class Students:
    """New students' rows with distinct 學號, 身分證號 and seats."""

    def __init__(self) -> None:
        self._rng = random.Random(5)
        self._seen: set[str] = set()
        self._next = 0

    def rows(self, count: int) -> list[list[object]]:
        """`count` new rows."""
        rows: list[list[object]] = []
        for _ in range(count):
            nid = national_id(self._rng)
            while nid in self._seen:
                nid = national_id(self._rng)
            self._seen.add(nid)
            n = self._next
            self._next += 1
            rows.append(
                [f"{200000 + n}", f"學生{n}", CLASSES[n % len(CLASSES)], n // len(CLASSES) + 1,
                 nid, "0950315", "在籍"]
            )  # fmt: skip
        return rows


async def _known(connection: AsyncConnection, school: str) -> int:
    count = await connection.scalar(
        sa.text("SELECT count(*) FROM known_person WHERE school_code = :s AND kind = 'student'"),
        {"s": school},
    )
    return int(count or 0)


async def _lag(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    *,
    url: str,
    headers: dict[str, str],
    school: str,
    rows: list[list[object]],
    expected: int,
) -> float:
    """Import `rows`; milliseconds from the response until course-outcomes knows `expected`."""
    response = await client.post(
        url, headers=headers, files={"file": ("students.xlsx", xlsx_bytes(COLUMNS, rows))}
    )
    committed = time.perf_counter()
    assert response.status_code == 200, response.text
    deadline = committed + 60
    while await _known(connection, school) < expected:
        assert time.perf_counter() < deadline, "course-outcomes never learnt the students"
        await asyncio.sleep(0.002)
    return (time.perf_counter() - committed) * 1000


async def _bare_jetstream(nats_url: str, singles: int, batch: int) -> tuple[list[float], float]:
    """Publish → delivery milliseconds of single messages, and of a whole batch."""
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        await js.add_stream(name="BENCH_LAG", subjects=["bench.lag.>"])
        arrived: asyncio.Queue[float] = asyncio.Queue()

        async def on_message(message: Msg) -> None:
            await message.ack()
            arrived.put_nowait(time.perf_counter())

        await js.subscribe("bench.lag.>", durable="bench-lag", cb=on_message)
        singles_ms: list[float] = []
        for n in range(singles + 1):
            started = time.perf_counter()
            await js.publish(f"bench.lag.{n}", b"{}")
            delivered = await asyncio.wait_for(arrived.get(), 10)
            if n:  # the first warms up
                singles_ms.append((delivered - started) * 1000)
        started = time.perf_counter()
        for n in range(batch):
            await js.publish(f"bench.lag.b{n}", b"{}")
        for _ in range(batch):
            last = await asyncio.wait_for(arrived.get(), 30)
        return singles_ms, (last - started) * 1000
    finally:
        await client.close()


async def measure(lab: Campus, *, quick: bool = False) -> list[Row]:
    """The event-lag rows of the table."""
    singles, batch = (5, 20) if quick else (40, 300)
    school = f"{random.randrange(10**6):06d}"
    identity = f"/api/identity/v1/schools/{school}"
    engine = create_engine(lab.courses_db)
    students = Students()
    try:
        async with (
            httpx.AsyncClient(base_url=lab.identity.url, timeout=120) as client,
            engine.connect() as connection,
        ):
            # every poll sees the newest commit, no transaction held open
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            created = await client.post(
                "/api/identity/v1/schools",
                headers=lab.issuer.headers(groups=["/district/operators"]),
                json={"code": school, "name": "效能測試高中", "academic_year": 115, "semester": 1,
                      "admin": {"staff_no": "A1", "name": "管理"}},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            admin = lab.headers(school, "admin")
            classes = xlsx_bytes(["班級代碼", "年級"], [[c, int(c[0])] for c in CLASSES])
            imported = await client.post(
                f"{identity}/imports/classes", files={"file": ("c.xlsx", classes)}, headers=admin
            )
            assert imported.status_code == 200, imported.text
            url = f"{identity}/imports/students"
            known = 0
            lags: list[float] = []
            for n in range(singles + 1):
                known += 1
                lag = await _lag(
                    client, connection, url=url, headers=admin, school=school,
                    rows=students.rows(1), expected=known,
                )  # fmt: skip
                if n:  # the first warms up the relay, the consumer and their connections
                    lags.append(lag)
            known += batch
            batch_ms = await _lag(
                client, connection, url=url, headers=admin, school=school,
                rows=students.rows(batch), expected=known,
            )  # fmt: skip
    finally:
        await engine.dispose()
    bare, bare_batch = await _bare_jetstream(lab.nats_url, singles, batch)
    print(
        f"event lag identity → course-outcomes: p50 {p50(lags):.1f} ms, p95 {p95(lags):.1f} ms; "
        f"batch of {batch}: {batch_ms:.0f} ms; bare JetStream p50 {p50(bare):.2f} ms, "
        f"batch {bare_batch:.0f} ms"
    )
    return [
        Row(
            "P5",
            f"event lag identity→course-outcomes roster, single events ({len(lags)})",
            f"p50 {p50(lags):.0f} / p95 {p95(lags):.0f} ms",
            f"bare JetStream p95 {p95(bare):.1f} ms",
            p95(lags) / p95(bare),
            f"p95 < {GOAL_MS:.0f} ms",
            p95(lags) < GOAL_MS,
        ),
        Row(
            "P5",
            f"event lag, one import of {batch} students until all known downstream",
            f"{batch_ms:,.0f} ms",
            f"bare JetStream ×{batch} {bare_batch:.0f} ms",
            batch_ms / bare_batch,
            "—",
            None,
        ),
    ]


async def _main(quick: bool) -> None:
    async with campus() as lab:
        print(render(await measure(lab, quick=quick)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    asyncio.run(_main(parser.parse_args().quick))
