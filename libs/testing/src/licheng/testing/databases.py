"""Fresh PostgreSQL databases for tests, created and dropped on the provisioned server."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from licheng.testing.infra import TestInfra


async def _admin_connection(infra: TestInfra) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=infra.pg_host,
        port=infra.pg_port,
        user=infra.pg_user,
        password=infra.pg_password,
        database="postgres",
    )


async def create_database(infra: TestInfra, prefix: str, *, template: str | None = None) -> str:
    """Create an empty database (or a copy of `template`, which nobody may be connected to)."""
    name = f"t_{prefix}_{uuid.uuid4().hex[:10]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    connection = await _admin_connection(infra)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"{copy_of}')
    finally:
        await connection.close()
    return name


_DROP_ATTEMPTS = 40


async def drop_database(infra: TestInfra, name: str) -> None:
    """Drop a test database, disconnecting whoever still holds it.

    The test role may end its own sessions but not an autovacuum worker that happens to be
    vacuuming the fresh database (PostgreSQL refuses that without pg_signal_backend): such a
    worker finishes within moments on a test-sized database, so the drop is tried again.
    """
    connection = await _admin_connection(infra)
    try:
        for attempt in range(_DROP_ATTEMPTS):
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
                if attempt == _DROP_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.25)
    finally:
        await connection.close()
