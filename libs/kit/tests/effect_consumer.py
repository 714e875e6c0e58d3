"""A consumer whose effect is a row per applied event; run as a process to be killed mid-way.

`python effect_consumer.py DB_URL NATS_URL DURABLE --die-after-commit` applies one event,
commits, and dies before it can ack: the situation the inbox exists for.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from typing import ClassVar

import nats
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import STREAMS, Event, EventPayload
from licheng.kit.db import create_engine, create_session_factory
from licheng.kit.inbox import ConsumerRunner, ConsumerSpec

metadata = sa.MetaData()
effects = sa.Table(
    "test_effect",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Uuid, nullable=False),  # deliberately not unique: dupes would show
    sa.Column("value", sa.Integer, nullable=False),
)


class EffectRequested(EventPayload):
    """A test-only event type (the catalog lists only the contracts' own)."""

    event_type: ClassVar[str] = "identity.effect.requested"
    n: int


async def apply_effect(session: AsyncSession, event: Event[EffectRequested]) -> None:
    """The effect: one row per event."""
    await session.exec(sa.insert(effects).values(event_id=event.id, value=event.data.n))


def spec(durable: str, *, ack_wait: float = 2.0) -> ConsumerSpec:
    """The consumer under test."""
    return ConsumerSpec(
        durable=durable,
        stream=STREAMS["identity"].name,
        handlers={EffectRequested: apply_effect},
        ack_wait_seconds=ack_wait,
        backoff_seconds=(0.1,),
    )


async def _main(database_url: str, nats_url: str, durable: str, die: bool) -> None:
    engine = create_engine(database_url)
    nc = await nats.connect(nats_url)
    if die:
        # The transaction with the effect and the inbox row has committed; now the process
        # vanishes before it acks, as a crash or an OOM kill would make it.
        event.listen(Session, "after_commit", lambda _s: os._exit(3))
    runner = ConsumerRunner(
        spec=spec(durable), session_factory=create_session_factory(engine), jetstream=nc.jetstream()
    )
    runner.start()
    await asyncio.sleep(30)
    raise SystemExit(f"no message arrived for {durable} ({uuid.uuid4()})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("database_url")
    parser.add_argument("nats_url")
    parser.add_argument("durable")
    parser.add_argument("--die-after-commit", action="store_true")
    args = parser.parse_args()
    asyncio.run(_main(args.database_url, args.nats_url, args.durable, args.die_after_commit))
