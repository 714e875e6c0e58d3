"""Time helpers: always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


def utcnow() -> datetime:
    """Now, in UTC, timezone-aware."""
    return datetime.now(UTC)


def tz_datetime_column(*, nullable: bool = False, index: bool = False) -> sa.Column[datetime]:
    """A timezone-aware timestamp column."""
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable, index=index)
