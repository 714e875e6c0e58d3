"""Describing an exception for a log line without the personal data it may carry.

A database error's message can hold the values of the failed statement: PostgreSQL's
`DETAIL: Key (username)=(011302-s-110777) already exists.` names a student's 學號, a unique
violation on a blind index names that index. The engines are created with `hide_parameters`, so
SQLAlchemy never adds the bound values; these helpers also withhold the database's own message
and keep only what identifies the failure: the exception type, the statement (placeholders
only) and the constraint's name.
"""

from __future__ import annotations

import re
import traceback

_DATABASE_MODULES = ("sqlalchemy", "asyncpg", "sqlite3", "aiosqlite")
_SQLITE_CONSTRAINT = re.compile(r"constraint failed: ([\w., ]+)")
_MAX_CHAIN = 10


def is_database_error(exc: BaseException) -> bool:
    """True for exceptions raised by the database layer (whose messages may carry values)."""
    return type(exc).__module__.split(".", 1)[0] in _DATABASE_MODULES


def constraint_of(exc: BaseException) -> str | None:
    """The name of the violated constraint, when the driver says which."""
    for error in _chain(exc):
        name = getattr(error, "constraint_name", None)  # asyncpg
        if isinstance(name, str) and name:
            return name
        if type(error).__module__.startswith("sqlite3"):
            found = _SQLITE_CONSTRAINT.search(str(error))  # names columns, never values
            if found:
                return found.group(1)
    return None


def safe_message(exc: BaseException) -> str:
    """`Type: message`, with a database error's message withheld."""
    kind = type(exc).__name__
    if not is_database_error(exc):
        return f"{kind}: {exc}"
    constraint = constraint_of(exc)
    return f"{kind} (constraint {constraint})" if constraint else f"{kind} (message withheld)"


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < _MAX_CHAIN:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def safe_traceback(exc: BaseException) -> str:
    """The whole traceback chain, with every database error's message withheld."""
    parts = []
    for error in reversed(_chain(exc)):
        frames = "".join(traceback.format_tb(error.__traceback__))
        kind = f"{type(error).__module__}.{type(error).__qualname__}"
        if is_database_error(error):
            statement = getattr(error, "statement", None)
            detail = safe_message(error)
            if isinstance(statement, str):
                detail += f"\n[SQL: {statement}]"
        else:
            detail = str(error)
        parts.append(f"Traceback (most recent call last):\n{frames}{kind}: {detail}")
    return "\n\nThe above exception led to the following exception:\n\n".join(parts)
