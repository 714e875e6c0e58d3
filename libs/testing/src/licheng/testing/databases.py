"""Fresh PostgreSQL databases for tests, created and dropped on the provisioned server."""

from __future__ import annotations

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


async def drop_database(infra: TestInfra, name: str) -> None:
    """Drop a test database, disconnecting whoever still holds it."""
    connection = await _admin_connection(infra)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
