"""Suite-wide rules on the data models of every service."""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from sqlmodel import SQLModel

from licheng.kit.timeutil import UtcDateTime

SERVICE_APPS = [
    "licheng.identity.app",
    "licheng.course_outcomes.app",
    "licheng.performances.app",
    "licheng.guidance.app",
    "licheng.exports.app",
]


def test_every_datetime_column_is_timezone_aware_utc() -> None:
    for module in SERVICE_APPS:
        importlib.import_module(module)  # registers every table of the service
    columns = [
        (table.name, column.name, column.type)
        for table in SQLModel.metadata.tables.values()
        for column in table.columns
    ]
    moments = [c for c in columns if isinstance(c[2], sa.DateTime | UtcDateTime)]
    assert len(moments) > 20, "the services' tables were not all loaded"
    bare = [f"{table}.{name}" for table, name, kind in moments if not isinstance(kind, UtcDateTime)]
    assert bare == [], f"declare these with licheng.kit.timeutil.tz_datetime_column(): {bare}"
