"""Sweeping objects no row references any more: replaced uploads, refused or failed builds.

The uploads bucket is shared (course-outcomes, performances and guidance put there, exports
reads from it), so no service may judge an object by listing the bucket. Each service instead
keeps a ledger (`object_ledger`, in its own database) of every key it puts: `ObjectStorage`
records the key, in a transaction of its own, *before* the bytes go out. The sweeper of a
service only ever considers its own ledger's keys, and compares them with the rows of its own
database that reference objects (`ObjectReference`): another service's objects, and objects
stored before the ledger existed, are never touched.

A pass has two steps (docs/reliability.md, "Sweeping unreferenced objects"):

1. Mark: a ledger key put more than the grace period ago that no reference holds gets
   `orphaned_at = now`; a marked key referenced again loses its mark.
2. Sweep: a key marked more than the grace period ago, still unreferenced, is claimed by
   deleting its ledger row (the statement re-checks the age and the references), the object is
   removed from S3 while that delete is uncommitted, and only then the transaction commits.

So an object goes at the earliest one grace period after it was put *and* one grace period
after nothing referenced it (readers that lag, such as exports' read model, keep working off
the old key meanwhile). An upload in flight is safe: its ledger row is fresh. A re-upload of
the very same key races safely: its ledger upsert either commits first (the claim then finds a
fresh row and takes nothing) or waits on the claim's row lock (PostgreSQL) or write lock
(SQLite) until the object is removed, and then puts the bytes again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Field, SQLModel, col
from urllib3.exceptions import HTTPError

from licheng.kit.background import BusyGuard
from licheng.kit.db import SessionFactory
from licheng.kit.metrics import OBJECTS_SWEPT
from licheng.kit.safe_errors import safe_traceback
from licheng.kit.storage import ObjectStorage
from licheng.kit.timeutil import tz_datetime_column, utcnow

log = structlog.get_logger("licheng.object_sweep")


class ObjectLedgerEntry(SQLModel, table=True):
    """An object this service put: when, and since when nothing references it."""

    __tablename__ = "object_ledger"

    bucket: str = Field(primary_key=True, max_length=63)
    key: str = Field(primary_key=True, max_length=255)
    put_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column(index=True))
    orphaned_at: datetime | None = Field(
        default=None, sa_column=tz_datetime_column(nullable=True, index=True)
    )


@dataclass(frozen=True)
class ObjectReference:
    """A column holding object keys that must stay, optionally only in rows matching `where`."""

    column: Any  # a mapped column, e.g. OutcomeFile.object_key
    where: Any = None  # e.g. Submission.state == SubmissionState.COMPLETED


class ObjectLedger:
    """Records every key a service puts, before the put, in a transaction of its own."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self._session_factory = session_factory

    async def record(self, *, bucket: str, key: str) -> None:
        """Note (or renew) `key` as just put: it is neither old nor orphaned now."""
        values = {"bucket": bucket, "key": key, "put_at": utcnow(), "orphaned_at": None}
        async with self._session_factory() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = insert(ObjectLedgerEntry).values(**values)
            statement = statement.on_conflict_do_update(
                index_elements=["bucket", "key"],
                set_={"put_at": values["put_at"], "orphaned_at": None},
            )
            await session.exec(statement)
            await session.commit()


def _unreferenced(references: Sequence[ObjectReference]) -> sa.ColumnElement[bool]:
    """True for a ledger row whose key no reference holds."""
    key = col(ObjectLedgerEntry.key)
    absent = []
    for reference in references:
        condition = reference.column == key
        if reference.where is not None:
            condition = sa.and_(condition, reference.where)
        absent.append(~sa.exists().where(condition))
    return sa.and_(sa.true(), *absent)


class ObjectSweeper:
    """Marks and removes a service's objects nothing references any more, periodically."""

    def __init__(
        self,
        *,
        service: str,
        session_factory: SessionFactory,
        storage: ObjectStorage,
        references: Sequence[ObjectReference],
        grace: timedelta = timedelta(hours=24),
        interval: float = 3600.0,
        batch_size: int = 200,
    ) -> None:
        if not references:
            raise ValueError("a sweeper without references would take every object it put")
        self._service = service
        self._session_factory = session_factory
        self._storage = storage
        self._references = tuple(references)
        self._grace = grace
        self._interval = interval
        self._batch = batch_size
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self._guard = BusyGuard()

    def start(self) -> None:
        """Run a pass now and then every `interval` seconds, in the background."""
        self._task = asyncio.create_task(self._run(), name=f"object-sweeper-{self._service}")

    def stopping(self) -> bool:
        """True once `stop()` was called."""
        return self._stopping

    async def stop(self) -> None:
        """Stop between two objects; what is left waits for the next start."""
        self._stopping = True
        self._wake.set()
        await self._guard.stop(self._task)
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self.sweep()
            except (DBAPIError, PoolTimeout, OSError, TimeoutError, HTTPError) as exc:
                # The database or the store is away for a while: the next pass tries again.
                log.warning("objects.sweep_failed", service=self._service, error=type(exc).__name__)
            except Exception as exc:  # the loop must outlive any single bad pass
                log.error(
                    "objects.sweep_crashed", service=self._service, exception=safe_traceback(exc)
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()

    async def sweep(self) -> int:
        """One pass: mark new orphans, remove those orphaned longer than the grace; how many."""
        now = utcnow()
        cutoff = now - self._grace
        unreferenced = _unreferenced(self._references)
        entry = ObjectLedgerEntry
        with self._guard.busy():
            async with self._session_factory() as session:
                await session.exec(
                    sa.update(entry)
                    .where(col(entry.orphaned_at).is_not(None), ~unreferenced)
                    .values(orphaned_at=None)
                )
                await session.exec(
                    sa.update(entry)
                    .where(col(entry.orphaned_at).is_(None), col(entry.put_at) < cutoff)
                    .where(unreferenced)
                    .values(orphaned_at=now)
                )
                await session.commit()
        swept = 0
        while not self._stopping:
            with self._guard.busy():
                due = await self._due(cutoff)
            removed = 0
            for bucket, key in due:
                if self.stopping():
                    break
                with self._guard.busy():
                    removed += await self._remove(bucket, key, cutoff=cutoff)
            swept += removed
            if len(due) < self._batch or not removed:
                break  # the last batch, or one that changed under us: the next pass goes on
        if swept:
            OBJECTS_SWEPT.labels(self._service).inc(swept)
            log.info("objects.swept", service=self._service, objects=swept)
        return swept

    async def _due(self, cutoff: datetime) -> list[tuple[str, str]]:
        entry = ObjectLedgerEntry
        async with self._session_factory() as session:
            rows = await session.exec(
                sa.select(entry.bucket, entry.key)  # type: ignore[call-overload]
                .where(col(entry.put_at) < cutoff, col(entry.orphaned_at) < cutoff)
                .where(_unreferenced(self._references))
                .order_by(col(entry.orphaned_at))
                .limit(self._batch)
            )
            return [(bucket, key) for bucket, key in rows.all()]

    async def _remove(self, bucket: str, key: str, *, cutoff: datetime) -> int:
        """Claim the ledger row (re-checking age and references), remove the object, commit.

        The object goes while the claim is uncommitted: a re-upload of the same key waits on it,
        and a failed removal rolls the claim back for the next pass."""
        entry = ObjectLedgerEntry
        async with self._session_factory() as session:
            claim = await session.exec(
                sa.delete(entry)
                .where(col(entry.bucket) == bucket, col(entry.key) == key)
                .where(col(entry.put_at) < cutoff, col(entry.orphaned_at) < cutoff)
                .where(_unreferenced(self._references))
            )
            if not claim.rowcount:
                await session.rollback()
                return 0
            await self._storage.remove(bucket=bucket, key=key)
            await session.commit()
        return 1
