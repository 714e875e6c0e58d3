"""Idempotent JetStream consumers: an inbox table makes redelivery harmless.

A handler's effect and the inbox row recording the event id commit in one transaction, and
only then is the message acked. A consumer that dies before acking gets the message again,
finds the id in its inbox and acks without applying the effect twice. A message that keeps
failing is retried with backoff and finally goes to the dead-letter subject.

A fetched batch (up to `batch_size` messages; ordered consumers take one at a time) is applied
in ONE transaction with a savepoint per message, committed once, then acked: a failing
message rolls back only its own savepoint and is retried or dead-lettered alone, the others
commit. When the batch's commit itself fails, its messages are applied again one by one.

A database that cannot be reached is not the message's fault: the runner holds the message
(restarting its ack wait) and tries again until the database answers, rather than spending its
bounded deliveries and dead-lettering it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import structlog
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import (
    Event,
    EventEnvelope,
    EventPayload,
    dead_letter_subject,
    subject_filter_of,
)
from licheng.kit.background import BusyGuard
from licheng.kit.db import SessionFactory
from licheng.kit.errors import database_unavailable
from licheng.kit.events import until_jetstream_answers
from licheng.kit.metrics import EVENTS_HANDLED
from licheng.kit.safe_errors import safe_message
from licheng.kit.timeutil import tz_datetime_column, utcnow

log = structlog.get_logger("licheng.inbox")


class PoisonMessage(Exception):
    """Raised by a handler for a message no retry can fix: it is dead-lettered at once."""


EventHandler = Callable[[AsyncSession, Event[Any]], Awaitable[None]]
"""Applies one event (its data parsed into the type's payload model) in the given session."""


class InboxMessage(SQLModel, table=True):
    """An event a consumer has applied."""

    __tablename__ = "inbox_message"

    consumer: str = Field(primary_key=True, max_length=100)
    event_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid(), primary_key=True))
    subject: str = Field(max_length=255)
    handled_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


async def _already_handled(session: AsyncSession, consumer: str, event_id: uuid.UUID) -> bool:
    stmt = select(InboxMessage.event_id).where(
        InboxMessage.consumer == consumer, InboxMessage.event_id == event_id
    )
    return (await session.exec(stmt)).first() is not None


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer and the handler of each event type it takes.

    It subscribes to exactly the subjects of the handled types (`filter_subjects` overrides
    that, e.g. for a work queue). An event whose data does not parse into its type's model, or
    of a type nobody handles here, is poison: dead-lettered at once, never retried.
    """

    durable: str
    stream: str
    handlers: Mapping[type[EventPayload], EventHandler]
    filter_subjects: Sequence[str] = ()
    max_deliver: int = 5
    backoff_seconds: Sequence[float] = field(default=(1.0, 5.0, 30.0, 120.0))
    ack_wait_seconds: float = 30.0
    batch_size: int = 20
    # True: one message in flight at a time, so events are applied strictly in stream order
    # (a read model that must know "everything before this event is applied" needs that).
    ordered: bool = False

    @property
    def subjects(self) -> list[str]:
        """The subjects the consumer filters on."""
        if self.filter_subjects:
            return list(self.filter_subjects)
        return [subject_filter_of(payload) for payload in self.handlers]

    def parse(self, envelope: EventEnvelope) -> tuple[EventHandler, Event[Any]]:
        """The handler for `envelope` and the event with its data parsed; PoisonMessage if not."""
        for payload, handler in self.handlers.items():
            if payload.event_type == envelope.type:
                try:
                    data = payload.model_validate(envelope.data)
                except ValidationError as exc:
                    raise PoisonMessage(
                        f"{envelope.type} data does not match its model "
                        f"({exc.error_count()} errors)"
                    ) from None
                return handler, Event(envelope=envelope, data=data)
        raise PoisonMessage(f"no handler for {envelope.type} in {self.durable}")


class ConsumerRunner:
    """Pulls a durable consumer's messages and applies them exactly once."""

    def __init__(
        self, *, spec: ConsumerSpec, session_factory: SessionFactory, jetstream: JetStreamContext
    ) -> None:
        self.spec = spec
        self._session_factory = session_factory
        self._js = jetstream
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._guard = BusyGuard()

    async def ensure_consumer(self) -> None:
        """Create or update the durable consumer on its stream."""
        config = ConsumerConfig(
            durable_name=self.spec.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.spec.ack_wait_seconds,
            # One more than ours: we dead-letter on the last delivery ourselves.
            max_deliver=self.spec.max_deliver + 1,
            filter_subjects=self.spec.subjects,
            max_ack_pending=1 if self.spec.ordered else None,
        )
        await until_jetstream_answers(
            lambda: self._js.add_consumer(self.spec.stream, config=config),
            what=f"consumer {self.spec.durable}",
        )

    def start(self) -> None:
        """Consume in the background."""
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.spec.durable}")

    def stopping(self) -> bool:
        """True once `stop()` was called."""
        return self._stopping

    async def stop(self) -> None:
        """Stop consuming; unacked messages are redelivered to the next runner."""
        self._stopping = True
        await self._guard.stop(self._task)
        self._task = None

    async def _run(self) -> None:
        subscription: JetStreamContext.PullSubscription | None = None
        while not self._stopping:
            try:
                if subscription is None:
                    await self.ensure_consumer()
                    subscription = await self._js.pull_subscribe_bind(
                        self.spec.durable, stream=self.spec.stream
                    )
                batch = 1 if self.spec.ordered else self.spec.batch_size
                messages = await subscription.fetch(batch, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away or consumer gone: wait and re-bind
                log.warning(
                    "consumer.fetch_failed", consumer=self.spec.durable, error=type(exc).__name__
                )
                subscription = None
                await asyncio.sleep(1.0)
                continue
            if self.stopping():
                break  # not acked: redelivered to the next runner
            with self._guard.busy():
                if len(messages) == 1:
                    await self.handle(messages[0])
                else:
                    await self.handle_batch(messages)

    async def handle_batch(self, messages: Sequence[Msg]) -> None:
        """Apply a batch in one transaction (a savepoint each), commit once, then settle each."""
        parsed: list[tuple[Msg, EventEnvelope]] = []
        for message in messages:
            try:
                parsed.append((message, EventEnvelope.model_validate_json(message.data)))
            except ValidationError as exc:
                reason = f"malformed event: {exc.error_count()} errors"
                await self._dead_letter(message, None, reason)
        results: list[tuple[Msg, EventEnvelope, str | Exception]] = []
        try:
            async with self._session_factory() as session:
                for message, envelope in parsed:
                    try:
                        async with session.begin_nested():
                            outcome: str | Exception = await self._apply_in(session, envelope)
                    except Exception as exc:  # only this message's savepoint rolls back
                        outcome = exc
                    results.append((message, envelope, outcome))
                await session.commit()
        except Exception as exc:  # the commit failed (a concurrent runner, the database away)
            log.info("consumer.batch_retried_one_by_one", consumer=self.spec.durable,
                     size=len(parsed), error=type(exc).__name__)  # fmt: skip
            for message, _ in parsed:
                await self.handle(message)
            return
        for message, envelope, outcome in results:
            if isinstance(outcome, PoisonMessage):
                await self._dead_letter(message, envelope, f"poison: {outcome}")
            elif isinstance(outcome, Exception):
                await self._retry_or_dead_letter(message, envelope, outcome)
            else:
                await message.ack()
                EVENTS_HANDLED.labels(self.spec.durable, outcome).inc()

    async def handle(self, message: Msg) -> None:
        """Apply one message exactly once, or schedule its retry, or dead-letter it."""
        try:
            envelope = EventEnvelope.model_validate_json(message.data)
        except ValidationError as exc:
            await self._dead_letter(message, None, f"malformed event: {exc.error_count()} errors")
            return
        waited = 0
        while True:
            try:
                outcome = await self._apply(envelope)
            except PoisonMessage as exc:
                await self._dead_letter(message, envelope, f"poison: {exc}")
                return
            except Exception as exc:
                if database_unavailable(exc):
                    if self.stopping():
                        return  # not acked: redelivered to the next runner
                    waited += 1
                    await self._wait_for_database(message, exc, waited)
                    continue
                await self._retry_or_dead_letter(message, envelope, exc)
                return
            break
        await message.ack()
        EVENTS_HANDLED.labels(self.spec.durable, outcome).inc()

    async def _wait_for_database(self, message: Msg, exc: Exception, waited: int) -> None:
        """Hold the message while our database is away, instead of spending its deliveries.

        Redelivery is bounded (then the dead letters): an outage longer than the backoff
        schedule would otherwise set aside every event that arrived during it, lost to the read
        model. The message stays ours (`in_progress` restarts its ack wait) and is applied
        once the database answers; a runner stopped meanwhile leaves it for redelivery.
        """
        if waited == 1:
            log.warning(
                "consumer.database_unavailable",
                consumer=self.spec.durable,
                error=type(exc).__name__,
            )
        with contextlib.suppress(Exception):  # NATS may be away too: redelivered then
            await message.in_progress()
        await asyncio.sleep(min(0.2 * 2**waited, 5.0))

    async def _apply(self, envelope: EventEnvelope) -> str:
        handler, event = self.spec.parse(envelope)  # poison before any session is opened
        async with self._session_factory() as session:
            if await self._apply_in(session, envelope, parsed=(handler, event)) == "duplicate":
                return "duplicate"
            try:
                await session.commit()
            except IntegrityError:
                # Another runner applied it concurrently; its effect stands, ours rolls back.
                await session.rollback()
                return "duplicate"
        return "applied"

    async def _apply_in(
        self,
        session: AsyncSession,
        envelope: EventEnvelope,
        *,
        parsed: tuple[EventHandler, Event[Any]] | None = None,
    ) -> str:
        """The handler's effect and the inbox row, in `session` (not committed)."""
        handler, event = parsed or self.spec.parse(envelope)
        if await _already_handled(session, self.spec.durable, envelope.id):
            return "duplicate"
        await handler(session, event)
        session.add(
            InboxMessage(consumer=self.spec.durable, event_id=envelope.id, subject=envelope.subject)
        )
        return "applied"

    async def _retry_or_dead_letter(
        self, message: Msg, envelope: EventEnvelope, exc: Exception
    ) -> None:
        delivered = message.metadata.num_delivered or 1
        reason = safe_message(exc)[:500]
        if delivered >= self.spec.max_deliver:
            await self._dead_letter(message, envelope, reason)
            return
        backoff = self.spec.backoff_seconds
        delay = backoff[min(delivered - 1, len(backoff) - 1)] if backoff else 1.0
        log.warning(
            "consumer.retry",
            consumer=self.spec.durable,
            event_id=str(envelope.id),
            subject=message.subject,
            delivered=delivered,
            delay=delay,
            error=type(exc).__name__,
        )
        EVENTS_HANDLED.labels(self.spec.durable, "retried").inc()
        await message.nak(delay=delay)

    async def _dead_letter(self, message: Msg, envelope: EventEnvelope | None, reason: str) -> None:
        headers = {
            "Licheng-Original-Subject": message.subject,
            "Licheng-Consumer": self.spec.durable,
            "Licheng-Error": reason.replace("\n", " ")[:500],
        }
        if envelope is not None:
            headers["Licheng-Event-Id"] = str(envelope.id)
        await self._js.publish(
            dead_letter_subject(self.spec.durable), message.data, headers=headers
        )
        await message.term()
        EVENTS_HANDLED.labels(self.spec.durable, "dead_lettered").inc()
        log.error(
            "consumer.dead_lettered",
            consumer=self.spec.durable,
            subject=message.subject,
            event_id=str(envelope.id) if envelope else None,
            reason=reason,
        )
