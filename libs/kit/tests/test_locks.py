"""A lock's high-water mark covers every edit accepted before it: an edit that found the 名冊 open
and is still committing makes the lock wait, so the edit cannot land after the mark."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, select

from licheng.contracts.events import OutcomesTermLocked, OutcomesTermReopened
from licheng.kit.audit import AuditEntry
from licheng.kit.changes import record_change
from licheng.kit.db import create_engine, create_session_factory
from licheng.kit.locks import hold_open, record_lock
from licheng.kit.outbox import OutboxMessage
from licheng.testing.fixtures import DatabaseFactory

SCHOOL = "011302"
KIT_TABLES = [t.__table__ for t in (OutboxMessage, AuditEntry)]  # type: ignore[attr-defined]


@pytest.fixture
async def engine(make_database: DatabaseFactory) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await make_database("locks"))
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=KIT_TABLES))
    yield engine
    await engine.dispose()


async def test_a_lock_waits_for_an_edit_that_found_the_term_open_and_its_mark_covers_it(
    engine: AsyncEngine,
) -> None:
    factory = create_session_factory(engine)
    submission = uuid.uuid4()
    async with factory() as edit:
        # The edit checks the term is open (holding it open), then writes its event.
        await hold_open(edit, school_code=SCHOOL, entity="term", entity_id="115-1")
        record_change(
            edit,
            school_code=SCHOOL,
            actor_id=None,
            entity="outcome",
            entity_id=uuid.uuid4(),
            event=OutcomesTermReopened(submission_id=uuid.uuid4(), academic_year=115, semester=1),
        )
        await edit.flush()

        async def lock() -> int:
            async with factory() as session:
                mark = await record_lock(
                    session,
                    school_code=SCHOOL,
                    actor_id=None,
                    entity="term",
                    entity_id="115-1",
                    submission_id=submission,
                    event=lambda m: OutcomesTermLocked(
                        submission_id=submission,
                        academic_year=115,
                        semester=1,
                        high_water_mark=m,
                    ),
                )
                await session.commit()
                return mark

        locking = asyncio.create_task(lock())
        await asyncio.sleep(0.5)
        assert not locking.done(), "the lock read its mark while an accepted edit was open"
        await edit.commit()
    mark = await asyncio.wait_for(locking, timeout=15)
    async with factory() as session:
        rows = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.seq))).all()
    edit_event, lock_event = rows
    assert json.loads(edit_event.payload)["type"] == OutcomesTermReopened.event_type
    assert json.loads(lock_event.payload)["type"] == OutcomesTermLocked.event_type
    assert edit_event.seq <= mark < lock_event.seq


@pytest.mark.postgresql_only(
    reason="SQLite runs one writing transaction at a time: every lock waits for every edit"
)
async def test_holding_one_term_open_does_not_delay_locking_another(
    engine: AsyncEngine,
) -> None:
    factory = create_session_factory(engine)
    submission = uuid.uuid4()
    async with factory() as edit:
        await hold_open(edit, school_code=SCHOOL, entity="term", entity_id="115-1")
        async with factory() as session:
            await asyncio.wait_for(
                record_lock(
                    session,
                    school_code=SCHOOL,
                    actor_id=None,
                    entity="term",
                    entity_id="115-2",
                    submission_id=submission,
                    event=lambda m: OutcomesTermLocked(
                        submission_id=submission,
                        academic_year=115,
                        semester=2,
                        high_water_mark=m,
                    ),
                ),
                timeout=5,
            )
            await session.commit()
        await edit.commit()
