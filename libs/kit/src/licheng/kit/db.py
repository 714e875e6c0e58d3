"""The async engine, session factory and the request's session dependency.

The session dependency is the single commit point: it commits when the endpoint returns and
rolls back when it raises. Services and repositories only `flush()`.

A request that must wait on the network in the middle (an S3 put) does not hold a pooled
connection while it waits: `release_connection` ends its read-only first phase (every check
it can make before the put), and the writes after the put run in the one transaction the
dependency commits. A session that has written refuses to be released, so nothing is ever
committed early.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, SessionTransaction
from sqlmodel import Session, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

SessionFactory = async_sessionmaker[AsyncSession]


def is_sqlite(url: str) -> bool:
    """True for the embedded SQLite default."""
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # Let SQLAlchemy, not the driver, start transactions (see _sqlite_begin).
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Any) -> None:
    # Every transaction takes the write lock when it starts, waiting (busy_timeout) for the one
    # before it. A deferred transaction that read first and writes later would instead fail at
    # once with "database is locked" when another wrote in between (its snapshot is stale);
    # this way a versioned update reads the newest row and its `WHERE version = …` decides.
    # The embedded run serves one school from one process: serial writes are no bottleneck.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 10.0,
) -> AsyncEngine:
    """An async engine for PostgreSQL (asyncpg) or SQLite (aiosqlite).

    At most `pool_size + max_overflow` connections at once; a request that finds them all busy
    waits `pool_timeout` seconds, then fails with a pool timeout (answered 503 `database_busy`
    with `Retry-After` by the error handler).
    """
    # hide_parameters: a failed statement's error (and so its logged traceback) never carries
    # the bound values, which may be names, 學號 or a blind index of a 身分證號.
    if is_sqlite(url):
        in_memory = make_url(url).database in (None, "", ":memory:")  # one static connection
        pool: dict[str, Any] = {}
        if not in_memory:
            pool = {"pool_size": pool_size, "max_overflow": max_overflow}
            pool["pool_timeout"] = pool_timeout
        engine = create_async_engine(
            url, connect_args={"timeout": 10}, hide_parameters=True, **pool
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        hide_parameters=True,
        pool_timeout=pool_timeout,
        connect_args={"timeout": 3, "command_timeout": 30},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    # Instead of pool_pre_ping's round trip on every checkout (three per request, a measurable
    # share of a rush): asyncpg notices a connection the server closed (a restart, a
    # terminated backend) as soon as the socket does, so a closed one is swapped for a fresh
    # one here at no cost. A connection that dies later fails its statement, is invalidated by
    # SQLAlchemy and the request answers 503 `database_unavailable`.
    if dbapi_connection.driver_connection.is_closed():
        raise sa.exc.DisconnectionError("the server closed this pooled connection")


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


_WROTE = "licheng.wrote"
_RELEASED = "licheng.released"


@event.listens_for(Session, "after_flush")
def _note_write(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_writes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction ended (not a savepoint)
        session.info.pop(_WROTE, None)


@event.listens_for(Session, "do_orm_execute")
def _fresh_after_release(state: ORMExecuteState) -> None:
    # Rows read again after a release reload the objects the first phase loaded (the identity
    # map would otherwise hand back their old state: a window closed meanwhile would go unseen).
    if state.is_select and state.session.info.get(_RELEASED):
        state.update_execution_options(populate_existing=True)


async def release_connection(session: AsyncSession) -> None:
    """End a read-only phase so the pooled connection goes back before slow network I/O.

    The next query begins a new transaction, which the request's dependency commits (or rolls
    back) as usual; every object it reads again is refreshed from the database. Objects loaded
    before stay usable (`expire_on_commit=False`) but may be stale and are not locked: re-read
    (under a lock) and re-check whatever the writes depend on.
    """
    sync = session.sync_session
    if sync.new or sync.dirty or sync.deleted or sync.info.get(_WROTE):
        raise RuntimeError("release_connection needs a session that has not written anything")
    await session.commit()  # nothing to write: this only ends the transaction
    sync.info[_RELEASED] = True


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: commit on success, roll back on error."""
    factory: SessionFactory = request.app.state.session_factory
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    relay = getattr(request.app.state, "outbox_relay", None)
    if relay is not None:
        relay.notify()


# scope="function": commit runs before the response is sent, so a failed commit is an error
# response rather than a 200 for data that was never stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def version_column() -> sa.Column[int]:
    """A row version that SQLAlchemy checks and bumps on every ORM update.

    Pass the same column to the model's `version_id_col` mapper argument: each flush of a
    changed row is then one `UPDATE … WHERE id = … AND version = :read` that sets
    `version = :read + 1`; when another writer got there first no row matches and the flush
    raises `StaleDataError`, which the error handler answers with 409 `version_conflict`.
    """
    return sa.Column("version", sa.Integer(), nullable=False)


def enum_column(enum: type[StrEnum], *, nullable: bool = False, length: int = 20) -> sa.Column[Any]:
    """A VARCHAR column storing a StrEnum's values and reading them back as members."""
    return sa.Column(
        sa.Enum(
            enum,
            native_enum=False,
            create_constraint=False,
            length=length,
            values_callable=lambda members: [m.value for m in members],
        ),
        nullable=nullable,
    )
