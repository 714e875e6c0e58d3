"""Transactional outbox: events are written with the change, then relayed to JetStream.

`record_event` adds the event to the caller's session, so it commits (or not) together with
the change it describes. `OutboxRelay` publishes unsent rows with `Nats-Msg-Id` = event id, so
JetStream drops a re-publish after a crash between publish and marking the row sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import EventEnvelope, EventPayload, dead_letter_subject
from licheng.kit.background import BusyGuard
from licheng.kit.db import SessionFactory
from licheng.kit.metrics import (
    OUTBOX_DEAD_LETTERED,
    OUTBOX_PRUNED,
    OUTBOX_PUBLISH_FAILURES,
    OUTBOX_PUBLISHED,
)
from licheng.kit.safe_errors import safe_traceback
from licheng.kit.timeutil import tz_datetime_column, utcnow

log = structlog.get_logger("licheng.outbox")

RELAY_LOCK_KEY = 0x4C4943_4F5554  # "LICOUT": one relay of a service database publishes at a time


class OutboxMessage(SQLModel, table=True):
    """An event waiting to be (or already) published."""

    __tablename__ = "outbox_message"

    seq: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
    )
    id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid(), nullable=False, unique=True))
    subject: str = Field(max_length=255)
    payload: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())
    published_at: datetime | None = Field(
        default=None, sa_column=tz_datetime_column(nullable=True, index=True)
    )
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)


def record_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Write `envelope` to the outbox in the caller's transaction."""
    session.add(
        OutboxMessage(id=envelope.id, subject=envelope.subject, payload=envelope.model_dump_json())
    )


def publish_event(
    session: AsyncSession,
    payload: EventPayload,
    *,
    school_code: str,
    actor_id: uuid.UUID | None,
) -> EventEnvelope:
    """Write `payload` as an event to the outbox in the caller's transaction."""
    envelope = payload.envelope(school_code=school_code, actor_id=actor_id)
    record_event(session, envelope)
    return envelope


async def _claim_unpublished(session: AsyncSession, limit: int) -> list[OutboxMessage]:
    stmt = (
        select(OutboxMessage)
        .where(col(OutboxMessage.published_at).is_(None))
        .order_by(col(OutboxMessage.seq))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Several replicas may run a relay; one at a time publishes (a transaction-scoped
        # advisory lock), so events leave strictly in outbox order: consumers and the roster
        # saga's high-water mark rely on that.
        if not await session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(RELAY_LOCK_KEY))):
            return []
        stmt = stmt.with_for_update()
    return list((await session.exec(stmt)).all())


async def count_unpublished(session: AsyncSession) -> int:
    """How many events still wait to be published."""
    stmt = (
        select(sa.func.count())
        .select_from(OutboxMessage)
        .where(col(OutboxMessage.published_at).is_(None))
    )
    return int((await session.exec(stmt)).one())


async def prune_published(session: AsyncSession, *, older_than: datetime, limit: int) -> int:
    """Delete up to `limit` rows published before `older_than`; returns how many went.

    The newest row always stays, so the outbox sequence (the saga's high-water mark) never
    goes back: SQLite would otherwise hand out a deleted maximum again.
    """
    newest = sa.select(sa.func.max(OutboxMessage.seq)).scalar_subquery()
    doomed = (
        sa.select(OutboxMessage.seq)  # type: ignore[call-overload]
        .where(
            col(OutboxMessage.published_at).is_not(None),
            col(OutboxMessage.published_at) < older_than,
            col(OutboxMessage.seq) < newest,
        )
        .order_by(col(OutboxMessage.seq))
        .limit(limit)
    )
    seqs = list((await session.exec(doomed)).scalars().all())
    if seqs:
        await session.exec(sa.delete(OutboxMessage).where(col(OutboxMessage.seq).in_(seqs)))
    return len(seqs)


async def last_sequence(session: AsyncSession) -> int:
    """The outbox sequence of the newest event written so far (0 when none): a high-water mark."""
    stmt = select(sa.func.max(OutboxMessage.seq))
    return int((await session.exec(stmt)).one() or 0)


class OutboxRelay:
    """Publishes outbox rows to JetStream in order, retrying until NATS takes them."""

    def __init__(
        self,
        *,
        service: str,
        session_factory: SessionFactory,
        jetstream: JetStreamContext,
        poll_seconds: float = 0.2,
        batch_size: int = 100,
        publish_timeout: float = 5.0,
        max_attempts: int = 10,
        retention: timedelta = timedelta(days=7),
        prune_interval: float = 600.0,
        prune_batch: int = 1000,
    ) -> None:
        self._service = service
        self._session_factory = session_factory
        self._js = jetstream
        self._poll = poll_seconds
        self._batch = batch_size
        self._timeout = publish_timeout
        self._max_attempts = max_attempts
        self._retention = retention
        self._prune_interval = prune_interval
        self._prune_batch = prune_batch
        self._next_prune = 0.0  # loop time of the next pruning round: the first round prunes
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._guard = BusyGuard()

    def notify(self) -> None:
        """Tell the relay new events were committed, so it need not wait for the next poll."""
        self._wake.set()

    def start(self) -> None:
        """Run the relay in the background."""
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._service}")

    def stopping(self) -> bool:
        """True once `stop()` was called."""
        return self._stopping

    async def stop(self) -> None:
        """Stop the relay; unsent rows stay for the next start."""
        self._stopping = True
        self._wake.set()
        await self._guard.stop(self._task)
        self._task = None

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                with self._guard.busy():
                    published, complete = await self.publish_pending()
                    if complete and asyncio.get_running_loop().time() >= self._next_prune:
                        await self.prune()
                failures = 0 if complete else failures + 1
            except (DBAPIError, PoolTimeout, OSError, TimeoutError) as exc:
                # The database is away or its pool busy for a while: expected weather, retried
                # with backoff.
                log.warning(
                    "outbox.relay_round_failed", service=self._service, error=type(exc).__name__
                )
                published, failures = 0, failures + 1
            except Exception as exc:  # the relay must outlive any single bad round
                log.error(
                    "outbox.relay_round_crashed",
                    service=self._service,
                    exception=safe_traceback(exc),
                )
                published, failures = 0, failures + 1
            if self.stopping():
                return
            if failures:
                await asyncio.sleep(min(0.2 * 2**failures, 5.0))
            elif published < self._batch:
                # Caught up (a short batch means nothing more was waiting): sleep until a commit
                # notifies or the poll comes round, instead of an empty round trip per batch.
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll):
                        await self._wake.wait()
                self._wake.clear()

    async def _dead_letter(self, row: OutboxMessage) -> bool:
        """Move a row that keeps failing to the dead letters; False while NATS itself fails.

        Only when the dead-letter publish succeeds do we know NATS works and the row itself is
        at fault (a subject no stream takes, a payload too large): then it is set aside, with
        its error, for an operator, and the rows after it go on.
        """
        try:
            await self._js.publish(
                dead_letter_subject(f"outbox.{self._service}"),
                row.payload.encode(),
                timeout=self._timeout,
                headers={
                    "Nats-Msg-Id": f"outbox-{row.id}",
                    "Licheng-Original-Subject": row.subject,
                    "Licheng-Event-Id": str(row.id),
                    "Licheng-Error": (row.last_error or "")[:500],
                },
            )
        except (NatsError, TimeoutError):
            return False
        row.published_at = utcnow()
        row.last_error = f"dead-lettered after {row.attempts} attempts: {row.last_error}"[:500]
        OUTBOX_DEAD_LETTERED.labels(self._service).inc()
        log.error(
            "outbox.dead_lettered",
            service=self._service,
            event_id=str(row.id),
            subject=row.subject,
            attempts=row.attempts,
        )
        return True

    async def prune(self) -> int:
        """Delete published rows older than the retention, in batches; returns how many."""
        self._next_prune = asyncio.get_running_loop().time() + self._prune_interval
        cutoff = utcnow() - self._retention
        pruned = 0
        while not self._stopping:
            async with self._session_factory() as session:
                batch = await prune_published(session, older_than=cutoff, limit=self._prune_batch)
                await session.commit()
            pruned += batch
            if batch < self._prune_batch:
                break
        if pruned:
            OUTBOX_PRUNED.labels(self._service).inc(pruned)
            log.info("outbox.pruned", service=self._service, rows=pruned)
        return pruned

    async def publish_pending(self) -> tuple[int, bool]:
        """Publish one batch; returns (published, whether every claimed row went out)."""
        async with self._session_factory() as session:
            rows = await _claim_unpublished(session, self._batch)
            published = 0
            for row in rows:
                try:
                    await self._js.publish(
                        row.subject,
                        row.payload.encode(),
                        timeout=self._timeout,
                        headers={"Nats-Msg-Id": str(row.id)},
                    )
                except (NatsError, TimeoutError) as exc:
                    row.attempts += 1
                    row.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    OUTBOX_PUBLISH_FAILURES.labels(self._service).inc()
                    log.warning(
                        "outbox.publish_failed",
                        service=self._service,
                        event_id=str(row.id),
                        error=type(exc).__name__,
                    )
                    if row.attempts < self._max_attempts or not await self._dead_letter(row):
                        await session.commit()
                        return published, False
                    continue  # a poison row no longer blocks the ones after it
                row.published_at = utcnow()
                published += 1
            await session.commit()
        if published:
            OUTBOX_PUBLISHED.labels(self._service).inc(published)
        return published, True
