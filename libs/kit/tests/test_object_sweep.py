"""The sweep of unreferenced objects, on both engines and the real S3 server: only the service's
own ledger keys, only after the grace, never a referenced one, and a re-upload racing the sweep
keeps its bytes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, col, select

from licheng.kit.db import SessionFactory, create_engine, create_session_factory
from licheng.kit.object_sweep import (
    ObjectLedger,
    ObjectLedgerEntry,
    ObjectReference,
    ObjectSweeper,
)
from licheng.kit.storage import FileKind, KeyFor, ObjectStorage, UploadPolicy, iter_bytes
from licheng.kit.timeutil import utcnow
from licheng.testing.fixtures import DatabaseFactory
from licheng.testing.infra import TestInfra

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(500)
POLICY = UploadPolicy(max_bytes={FileKind.PDF: 1024 * 1024})

# A service's table of its own that references objects; only `kept` rows keep theirs.
references = sa.MetaData()
attachment = sa.Table(
    "attachment",
    references,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("object_key", sa.String(200), nullable=False),
    sa.Column("kept", sa.Boolean, nullable=False),
)
REFERENCES = [ObjectReference(attachment.c.object_key, attachment.c.kept.is_(True))]
HOUR = timedelta(hours=1)


def _new_record() -> KeyFor:
    return KeyFor(school_code="011302", owner_id=uuid.uuid4(), record_id=uuid.uuid4())


class PausingStorage(ObjectStorage):
    """The real store, whose removals wait until the test lets them go."""

    def __init__(self, **kwargs: str) -> None:
        super().__init__(**kwargs)
        self.removing = asyncio.Event()
        self.proceed = asyncio.Event()
        self.proceed.set()

    async def remove(self, *, bucket: str, key: str) -> None:
        self.removing.set()
        await self.proceed.wait()
        await super().remove(bucket=bucket, key=key)


@dataclass
class World:
    engine: AsyncEngine
    sessions: SessionFactory
    storage: PausingStorage  # records what it puts in the ledger
    bucket: str

    async def put(self, data: bytes = PDF, *, key_for: KeyFor | None = None) -> str:
        """Put bytes as the service would (ledger first), for a new record unless given."""
        key_for = key_for or _new_record()
        stored = await self.storage.put_stream(
            bucket=self.bucket, chunks=iter_bytes(data), policy=POLICY, key_for=key_for
        )
        return stored.key

    async def refer(self, key: str, *, kept: bool = True) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(attachment.insert().values(object_key=key, kept=kept))

    async def exists(self, key: str) -> bool:
        return await self.storage.exists(bucket=self.bucket, key=key)

    async def back_date(self, key: str, *, by: timedelta, orphaned: bool = False) -> None:
        """Pretend `key` was put (and, if `orphaned`, found unreferenced) `by` ago."""
        values = {"put_at": utcnow() - by} | ({"orphaned_at": utcnow() - by} if orphaned else {})
        async with self.sessions() as session:
            await session.exec(
                sa.update(ObjectLedgerEntry)
                .where(col(ObjectLedgerEntry.key) == key)
                .values(**values)
            )
            await session.commit()

    async def entry(self, key: str) -> ObjectLedgerEntry | None:
        async with self.sessions() as session:
            found = await session.exec(
                select(ObjectLedgerEntry).where(col(ObjectLedgerEntry.key) == key)
            )
            return found.first()

    def sweeper(self, grace: timedelta = HOUR) -> ObjectSweeper:
        return ObjectSweeper(
            service="kit_test",
            session_factory=self.sessions,
            storage=self.storage,
            references=REFERENCES,
            grace=grace,
            batch_size=2,  # several batches in a pass
        )


@pytest.fixture
async def world(
    make_database: DatabaseFactory, infra: TestInfra, bucket: str
) -> AsyncIterator[World]:
    url = await make_database("sweep")
    engine = create_engine(url)
    ledger_table = ObjectLedgerEntry.__table__  # type: ignore[attr-defined]
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=[ledger_table]))
        await connection.run_sync(references.create_all)
    sessions = create_session_factory(engine)
    storage = PausingStorage(
        endpoint=infra.s3_endpoint,
        access_key=infra.s3_access_key,
        secret_key=infra.s3_secret_key,
    )
    storage.ledger = ObjectLedger(sessions)
    yield World(engine=engine, sessions=sessions, storage=storage, bucket=bucket)
    await engine.dispose()


def _swept_total() -> float:
    return REGISTRY.get_sample_value("licheng_objects_swept_total", {"service": "kit_test"}) or 0.0


async def test_only_objects_unreferenced_for_the_grace_are_swept(
    world: World, storage: ObjectStorage
) -> None:
    kept = await world.put(PDF + b"kept")
    replaced = [await world.put(PDF + bytes([n])) for n in range(3)]  # two sweep batches
    refused = await world.put(PDF + b"refused")  # referenced, but by a row that keeps nothing
    fresh = await world.put(PDF + b"fresh")  # an upload whose row is not committed yet
    await world.refer(kept)
    await world.refer(refused, kept=False)
    # Another service's object in the same bucket: put without our ledger, long ago or not.
    other = await storage.put_stream(
        bucket=world.bucket,
        chunks=iter_bytes(PDF + b"other"),
        policy=POLICY,
        key_for=_new_record(),
    )
    for key in (kept, *replaced, refused):
        await world.back_date(key, by=2 * HOUR)
    sweeper = world.sweeper()
    before = _swept_total()

    assert await sweeper.sweep() == 0  # found unreferenced just now: marked, not removed
    assert all([await world.exists(k) for k in (kept, *replaced, refused, fresh, other.key)])
    marked = await world.entry(replaced[0])
    assert marked is not None
    assert marked.orphaned_at is not None
    fresh_entry = await world.entry(fresh)
    assert fresh_entry is not None
    assert fresh_entry.orphaned_at is None

    for key in (*replaced, refused):
        await world.back_date(key, by=2 * HOUR, orphaned=True)
    assert await sweeper.sweep() == 4
    assert [await world.exists(k) for k in (*replaced, refused)] == [False] * 4
    assert [await world.exists(k) for k in (kept, fresh, other.key)] == [True] * 3
    assert await world.entry(replaced[0]) is None
    assert _swept_total() - before == 4


async def test_a_mark_is_lifted_when_the_key_is_referenced_again(world: World) -> None:
    key = await world.put()
    await world.back_date(key, by=2 * HOUR)
    sweeper = world.sweeper()
    await sweeper.sweep()
    await world.back_date(key, by=2 * HOUR, orphaned=True)
    await world.refer(key)  # e.g. the row committed late

    assert await sweeper.sweep() == 0
    assert await world.exists(key)
    entry = await world.entry(key)
    assert entry is not None
    assert entry.orphaned_at is None


async def test_a_reupload_of_the_same_key_racing_the_removal_keeps_its_bytes(
    world: World,
) -> None:
    record = _new_record()
    key = await world.put(key_for=record)
    await world.back_date(key, by=2 * HOUR, orphaned=True)
    world.storage.proceed.clear()
    sweep = asyncio.create_task(world.sweeper().sweep())
    async with asyncio.timeout(10):
        await world.storage.removing.wait()  # claimed; the object is about to go

    reupload = asyncio.create_task(
        world.put(key_for=record)
    )  # the same bytes to the same record key...
    await asyncio.sleep(0.5)
    assert not reupload.done()  # ...waits for the claim to end before its ledger row is written

    world.storage.proceed.set()
    async with asyncio.timeout(15):
        assert await sweep == 1
        assert await reupload == key
    assert await world.exists(key)  # put again after the removal
    entry = await world.entry(key)
    assert entry is not None
    assert entry.orphaned_at is None
