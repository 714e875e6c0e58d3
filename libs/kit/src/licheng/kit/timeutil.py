"""Time helpers: always timezone-aware, stored as UTC on every engine.

`UtcDateTime` is the one column type for a moment in time. PostgreSQL keeps `timestamptz`;
SQLite has no time zone type and SQLAlchemy would silently drop the offset (08:00+08:00 read
back as a naive 08:00). The type converts every value to UTC before it is bound, refuses naive
values outright, and hands back aware UTC datetimes from both engines. Because SQLite stores
UTC text of one fixed shape, comparisons in SQL (`publish_from <= :now`) stay correct there too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, AwareDatetime
from sqlalchemy.engine import Dialect

# The schools' own clock, for messages people read (Taiwan keeps UTC+8 all year, no DST).
TAIPEI = timezone(timedelta(hours=8), "Asia/Taipei")


# API input for a moment in time: an offset is required (422 naming the field otherwise), and
# the value is normalised to UTC so answers show the instant the same way the database does.
AwareUtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC))]


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


class NaiveDatetimeError(ValueError):
    """A datetime without an offset reached the database layer: a programming error."""


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware timestamp: stored in UTC, always read back aware (UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"UtcDateTime takes datetime values, not {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError("a datetime without a time zone cannot be stored")
        moment = value.astimezone(UTC)
        # SQLite would drop the offset anyway; store the UTC wall time explicitly.
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a hand-written query
            value = datetime.fromisoformat(value)
        moment: datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


def tz_datetime_column(*, nullable: bool = False, index: bool = False) -> sa.Column[datetime]:
    """A timezone-aware timestamp column (`UtcDateTime`)."""
    return sa.Column(UtcDateTime(), nullable=nullable, index=index)
