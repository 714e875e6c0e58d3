"""Fault: the NATS server restarts in the middle of 1,000 events from two services.

Identity imports students (its `person.upserted` events feed the rosters of course-outcomes,
performances and exports) while performances imports 校內幹部 records (its `cadre.recorded`
events feed exports' read model). Part-way through, the services' nats-server — a private one
on loopback — stops for a few seconds and starts again on the same JetStream store. Then every
event each producer committed is counted where it matters: on the stream (once), and in each
consumer's database — the rows its handlers wrote (known students, 幹部 rows) and its inbox.
Every event must be applied exactly once by every consumer subscribed to it.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import nats
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from prometheus_client import REGISTRY

from licheng.contracts.events import STREAMS
from licheng.course_outcomes.app import create_app as create_course_outcomes
from licheng.course_outcomes.cli import MIGRATIONS_DIR as COURSE_MIGRATIONS
from licheng.course_outcomes.roster.events import DURABLE as COURSE_ROSTER
from licheng.course_outcomes.settings import Settings as CourseSettings
from licheng.exports.app import ROSTER_DURABLE as EXPORTS_ROSTER
from licheng.exports.app import create_app as create_exports
from licheng.exports.cli import MIGRATIONS_DIR as EXPORTS_MIGRATIONS
from licheng.exports.readmodel.events import performances_consumer
from licheng.exports.settings import Settings as ExportsSettings
from licheng.identity.app import create_app as create_identity
from licheng.identity.cli import MIGRATIONS_DIR as IDENTITY_MIGRATIONS
from licheng.identity.imports.national_id import is_valid_national_id
from licheng.identity.settings import Settings as IdentitySettings
from licheng.kit.roster import roster_consumer
from licheng.performances.app import ROSTER_DURABLE as PERFORMANCES_ROSTER
from licheng.performances.app import create_app as create_performances
from licheng.performances.cli import MIGRATIONS_DIR as PERFORMANCES_MIGRATIONS
from licheng.performances.settings import Settings as PerformancesSettings
from licheng.testing.apps import running, service_settings
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.servers import NatsServerProcess

CLASSES = ("101", "102", "103", "104")
FIRST_STUDENTS = 100  # imported before the fault; each gets 幹部 records during it
STUDENT_BATCHES = 4  # further identity imports of 100 students, during the fault
CADRE_BATCHES = 5  # performances imports of 100 幹部 rows (one role for each first student)
PER_BATCH = 100
OUTAGE_SECONDS = 3.0
CATCH_UP_SECONDS = 120.0


@dataclass(frozen=True)
class Consumer:
    """A durable consumer: which service database it writes, and which producer it follows."""

    durable: str
    service: str
    producer: str
    subjects: list[str]


ROSTER_SUBJECTS = roster_consumer(durable="any").subjects
CONSUMERS = (
    Consumer(COURSE_ROSTER, "course-outcomes", "identity", ROSTER_SUBJECTS),
    Consumer(PERFORMANCES_ROSTER, "performances", "identity", ROSTER_SUBJECTS),
    Consumer(EXPORTS_ROSTER, "exports", "identity", ROSTER_SUBJECTS),
    Consumer(
        performances_consumer().durable,
        "exports",
        "performances",
        performances_consumer().subjects,
    ),
)
STREAM_OF = {"identity": STREAMS["identity"].name, "performances": STREAMS["performances"].name}


@dataclass
class Services:
    """Identity, course-outcomes, performances and exports, all on one private nats-server."""

    clients: dict[str, httpx.AsyncClient]
    apps: dict[str, FastAPI]
    nats: NatsServerProcess
    issuer: TestIssuer


@pytest.fixture
async def services(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    issuer: TestIssuer,
    private_nats: NatsServerProcess,
) -> AsyncIterator[Services]:
    made: dict[str, tuple[Callable[[Any], FastAPI], Any, Any]] = {
        "identity": (create_identity, IdentitySettings, IDENTITY_MIGRATIONS),
        "course-outcomes": (create_course_outcomes, CourseSettings, COURSE_MIGRATIONS),
        "performances": (create_performances, PerformancesSettings, PERFORMANCES_MIGRATIONS),
        "exports": (create_exports, ExportsSettings, EXPORTS_MIGRATIONS),
    }
    apps: dict[str, FastAPI] = {}
    for name, (factory, settings_class, migrations) in made.items():
        database_url = await migrated_database(migrations, f"nr_{name.replace('-', '_')}")
        apps[name] = factory(
            service_settings(
                settings_class,
                infra=infra,
                database_url=database_url,
                nats_url=private_nats.url,
                jwks_url=issuer.jwks_url,
                issuer=issuer.issuer,
            )
        )
    async with AsyncExitStack() as stack:
        clients = {
            name: await stack.enter_async_context(running(app)) for name, app in apps.items()
        }
        for client in clients.values():
            client.timeout = httpx.Timeout(60.0)
        yield Services(clients, apps, private_nats, issuer)


def _national_id(rng: random.Random, taken: set[str]) -> str:
    while True:
        stem = rng.choice("ABCDEFGHJKLMNPQRSTUVXYWZ") + rng.choice("12")
        stem += f"{rng.randrange(10**7):07d}"
        for digit in range(10):
            candidate = stem + str(digit)
            if is_valid_national_id(candidate) and candidate not in taken:
                taken.add(candidate)
                return candidate


def _students_csv(first: int, count: int, rng: random.Random, taken: set[str]) -> bytes:
    lines = ["學號,姓名,班級,座號,身分證號,出生日期,在籍狀態"]
    for n in range(first, first + count):
        lines.append(
            f"{400000 + n},學生{n},{CLASSES[n % len(CLASSES)]},{n // len(CLASSES) + 1},"
            f"{_national_id(rng, taken)},0950315,在籍"
        )
    return ("\n".join(lines) + "\n").encode()


def _cadres_csv(role: int) -> bytes:
    lines = ["學年,學期,學號,單位名稱,開始日期,結束日期,擔任職務,幹部等級"]
    for n in range(FIRST_STUDENTS):
        lines.append(f"115,1,{400000 + n},服務隊{role},1150901,1160131,隊員{role},1")
    return ("\n".join(lines) + "\n").encode()


def _matches(pattern: str, subject: str) -> bool:
    wanted, given = pattern.split("."), subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(given) > index
        if index >= len(given) or token not in ("*", given[index]):
            return False
    return len(wanted) == len(given)


async def _scalar(app: FastAPI, sql: str, **params: object) -> int:
    async with app.state.engine.connect() as connection:
        return int(await connection.scalar(sa.text(sql), params) or 0)


async def _rows(app: FastAPI, sql: str, **params: object) -> list[tuple[Any, ...]]:
    async with app.state.engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(sa.text(sql), params)]


async def _eventually(check: Callable[[], Any], what: str, deadline: float) -> None:
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


def _applied_metric(durable: str) -> float:
    value = REGISTRY.get_sample_value(
        "licheng_events_handled_total", {"consumer": durable, "outcome": "applied"}
    )
    return value or 0.0


async def test_every_event_is_applied_once_across_a_nats_restart(
    services: Services, record_property: Callable[[str, object], None]
) -> None:
    identity, performances = services.clients["identity"], services.clients["performances"]
    apps = services.apps
    school = f"{random.randrange(10**6):06d}"
    rng, taken = random.Random(19), set[str]()
    operator = services.issuer.headers(groups=["/district/operators"])
    before = {c.durable: _applied_metric(c.durable) for c in CONSUMERS}
    made = await identity.post(
        "/api/identity/v1/schools",
        headers=operator,
        json={"code": school, "name": "故障測試高中", "academic_year": 115, "semester": 1,
              "admin": {"staff_no": "A1", "name": "管理者"}},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    admin = services.issuer.headers(
        person_id=uuid.UUID(made.json()["admin_person_id"]), groups=[f"/schools/{school}/admin"]
    )
    people = f"/api/identity/v1/schools/{school}/imports"
    classes = "班級代碼,年級\n" + "".join(f"{c},{c[0]}\n" for c in CLASSES)
    imports = (("classes", classes.encode()),
               ("students", _students_csv(0, FIRST_STUDENTS, rng, taken)))  # fmt: skip
    for kind, text in imports:
        answer = await identity.post(
            f"{people}/{kind}", headers=admin, files={"file": ("a.csv", text)}
        )
        assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + CATCH_UP_SECONDS
    known = "SELECT count(*) FROM known_person WHERE school_code = :s AND kind = 'student'"

    async def performances_knows_the_first_students() -> bool:
        return await _scalar(apps["performances"], known, s=school) == FIRST_STUDENTS

    await _eventually(performances_knows_the_first_students, "the first students", deadline)

    # Both producers write batches; after each one's second batch NATS stops, and each waits
    # for it to be back before its last batch: events are committed before, during and after.
    pending = "SELECT count(*) FROM outbox_message WHERE published_at IS NULL"
    waiting_at_restart: dict[str, int] = {}
    second_batch_done = [asyncio.Event(), asyncio.Event()]
    restarted = asyncio.Event()

    async def import_students() -> None:
        for batch in range(STUDENT_BATCHES):
            if batch == STUDENT_BATCHES - 1:
                await restarted.wait()
            csv = _students_csv(FIRST_STUDENTS + batch * PER_BATCH, PER_BATCH, rng, taken)
            answer = await identity.post(
                f"{people}/students", headers=admin, files={"file": ("s.csv", csv)}
            )
            assert answer.status_code == 200, answer.text
            if batch == 1:
                second_batch_done[0].set()

    async def import_cadres() -> None:
        base = f"/api/performances/v1/schools/{school}/cadres/imports"
        for role in range(CADRE_BATCHES):
            if role == CADRE_BATCHES - 1:
                await restarted.wait()
            answer = await performances.post(
                base, headers=admin, files={"file": ("幹部.csv", _cadres_csv(role))}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["created"] == FIRST_STUDENTS
            if role == 1:
                second_batch_done[1].set()

    async def restart_nats() -> None:
        await asyncio.wait_for(
            asyncio.gather(*(done.wait() for done in second_batch_done)), timeout=60
        )
        services.nats.stop()
        await asyncio.sleep(OUTAGE_SECONDS)
        for producer in STREAM_OF:  # what was committed while NATS was away
            waiting_at_restart[producer] = await _scalar(apps[producer], pending)
        services.nats.start()  # same port, same JetStream store
        restarted.set()

    async with asyncio.timeout(CATCH_UP_SECONDS), asyncio.TaskGroup() as group:
        for step in (import_students(), import_cadres(), restart_nats()):
            group.create_task(step)  # one failing cancels the others

    # Every committed event leaves its producer's outbox...
    outbox: dict[str, list[tuple[uuid.UUID, str]]] = {}
    for producer in STREAM_OF:

        async def published(app: FastAPI = apps[producer]) -> bool:
            return await _scalar(app, pending) == 0

        await _eventually(published, f"{producer}'s outbox to empty", deadline)
        rows = await _rows(apps[producer], "SELECT id, subject FROM outbox_message")
        outbox[producer] = [(uuid.UUID(str(row[0])), str(row[1])) for row in rows]
    # ...and is on its stream once (JetStream drops a re-publish by its Nats-Msg-Id).
    client = await nats.connect(services.nats.url)
    try:
        on_stream = {
            producer: (await client.jetstream().stream_info(stream)).state.messages
            for producer, stream in STREAM_OF.items()
        }
    finally:
        await client.close()
    duplicated = sum(max(on_stream[p] - len(outbox[p]), 0) for p in STREAM_OF)
    missing_on_stream = sum(max(len(outbox[p]) - on_stream[p], 0) for p in STREAM_OF)

    # Every consumer applies each event it subscribes to, once: its inbox names the event and
    # its handler's rows are there.
    owed = {
        c.durable: {
            event_id
            for event_id, subject in outbox[c.producer]
            if any(_matches(pattern, subject) for pattern in c.subjects)
        }
        for c in CONSUMERS
    }
    inbox = "SELECT event_id FROM inbox_message WHERE consumer = :c"

    async def inboxes() -> dict[str, list[uuid.UUID]]:
        return {
            c.durable: [
                uuid.UUID(str(row[0])) for row in await _rows(apps[c.service], inbox, c=c.durable)
            ]
            for c in CONSUMERS
        }

    async def caught_up() -> bool:
        found = await inboxes()
        return all(set(found[c.durable]) >= owed[c.durable] for c in CONSUMERS)

    # Counted whether or not they catch up in time: a consumer behind shows in `lost`.
    while not await caught_up():
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    applied_ids = await inboxes()
    sent = sum(len(ids) for ids in owed.values())
    applied = sum(len(set(applied_ids[d]) & ids) for d, ids in owed.items())
    duplicated += sum(len(found) - len(set(found)) for found in applied_ids.values())
    # The consumers' own count of applications agrees: no event handled twice.
    handled = {c.durable: _applied_metric(c.durable) - before[c.durable] for c in CONSUMERS}
    duplicated += int(sum(max(handled[c.durable] - len(owed[c.durable]), 0) for c in CONSUMERS))
    lost = sent - applied + missing_on_stream
    students = FIRST_STUDENTS + STUDENT_BATCHES * PER_BATCH
    cadres = CADRE_BATCHES * FIRST_STUDENTS
    line = (
        f"FAULT nats_restart sent={sent} applied={applied} duplicated={duplicated} lost={lost}"
        f" (events={sum(len(rows) for rows in outbox.values())} students={students}"
        f" cadres={cadres} consumers={len(CONSUMERS)} handled={int(sum(handled.values()))}"
        f" waiting_at_restart={sum(waiting_at_restart.values())})"
    )
    print(line)
    record_property("fault_nats_restart", line)

    assert sum(len(rows) for rows in outbox.values()) >= 1000
    assert sum(waiting_at_restart.values()) > 0, line  # the outage fell amid the traffic
    assert (sent, applied, duplicated, lost) == (sent, sent, 0, 0), line
    # The effects: every consumer of identity knows every student, exports holds every 幹部.
    for name in ("course-outcomes", "performances", "exports"):
        assert await _scalar(apps[name], known, s=school) == students, name
    rm_cadres = "SELECT count(*) FROM rm_cadre WHERE school_code = :s"
    assert await _scalar(apps["exports"], rm_cadres, s=school) == cadres
    assert await _scalar(apps["performances"], "SELECT count(*) FROM cadre") == cadres
