"""One time type on both engines: stored as UTC, read back aware, naive values refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from licheng.kit.db import create_engine
from licheng.kit.timeutil import NaiveDatetimeError, UtcDateTime
from licheng.testing.fixtures import DatabaseFactory

TAIPEI = timezone(timedelta(hours=8))
metadata = sa.MetaData()
moments = sa.Table(
    "moments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime(), nullable=True),
)


@pytest.fixture
async def engine(make_database: DatabaseFactory) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await make_database("timeutil"))
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def test_an_offset_survives_the_round_trip_as_the_same_instant(engine: AsyncEngine) -> None:
    eight_taipei = datetime(2026, 9, 1, 8, 0, tzinfo=TAIPEI)
    async with engine.begin() as connection:
        await connection.execute(
            moments.insert(), [{"id": 1, "at": eight_taipei}, {"id": 2, "at": None}]
        )
        rows = dict((await connection.execute(sa.select(moments.c.id, moments.c.at))).all())
    assert rows[1] == eight_taipei
    assert rows[1].utcoffset() == timedelta(0)
    assert rows[1] == datetime(2026, 9, 1, 0, 0, tzinfo=UTC)
    assert rows[2] is None


async def test_comparisons_in_sql_hold_across_offsets(engine: AsyncEngine) -> None:
    # 07:30 in Taipei is 23:30 UTC the day before: earlier than 00:00 UTC, though "larger"
    # as local wall-clock text.
    async with engine.begin() as connection:
        await connection.execute(
            moments.insert(),
            [
                {"id": 1, "at": datetime(2026, 9, 1, 7, 30, tzinfo=TAIPEI)},
                {"id": 2, "at": datetime(2026, 9, 1, 0, 30, tzinfo=UTC)},
            ],
        )
        cut = datetime(2026, 9, 1, 8, 0, tzinfo=TAIPEI)  # 00:00 UTC
        before = await connection.execute(sa.select(moments.c.id).where(moments.c.at < cut))
        assert [r[0] for r in before] == [1]
        ordered = await connection.execute(sa.select(moments.c.id).order_by(moments.c.at))
        assert [r[0] for r in ordered] == [1, 2]


async def test_a_naive_datetime_is_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        with pytest.raises(StatementError) as refused:
            await connection.execute(moments.insert(), {"id": 1, "at": datetime(2026, 9, 1, 8)})
        assert isinstance(refused.value.orig, NaiveDatetimeError)
