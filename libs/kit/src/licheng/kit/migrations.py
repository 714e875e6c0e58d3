"""Alembic plumbing shared by every service: the env.py body and the prestart upgrade."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from licheng.kit.db import is_sqlite


def _configure_and_run(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str, metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_configure_and_run, metadata)
    await engine.dispose()


def run_env(metadata: MetaData) -> None:
    """The whole of a service's `migrations/env.py`: migrate the configured database."""
    config = context.config
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: run migrations through the service's prestart")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, metadata))


def alembic_config(*, migrations_dir: Path, database_url: str) -> Config:
    """An Alembic config pointing at a service's migrations and database."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["database_url"] = database_url
    return config


def upgrade_to_head(*, migrations_dir: Path, database_url: str) -> None:
    """Bring the database to the newest revision (blocking; safe to call in a thread)."""
    if is_sqlite(database_url):
        database = make_url(database_url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(
        alembic_config(migrations_dir=migrations_dir, database_url=database_url), "head"
    )


async def upgrade_to_head_async(*, migrations_dir: Path, database_url: str) -> None:
    """`upgrade_to_head` from async code (Alembic runs its own loop in a worker thread)."""
    await asyncio.to_thread(
        upgrade_to_head, migrations_dir=migrations_dir, database_url=database_url
    )


def create_kit_tables_v1() -> None:
    """Create the outbox, inbox and audit tables (call from a service's first migration)."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "outbox_message",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_message_id")),
    )
    op.create_index(op.f("ix_outbox_message_published_at"), "outbox_message", ["published_at"])
    op.create_table(
        "inbox_message",
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox_message")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_code", sa.String(6), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(100), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    for column in ("school_code", "actor_id", "action", "entity_id", "occurred_at"):
        op.create_index(op.f(f"ix_audit_log_{column}"), "audit_log", [column])


def drop_kit_tables_v1() -> None:
    """Drop what `create_kit_tables_v1` created."""
    from alembic import op

    op.drop_table("audit_log")
    op.drop_table("inbox_message")
    op.drop_table("outbox_message")


def create_idempotency_table_v1() -> None:
    """Create the table that keeps answers to writes sent with an Idempotency-Key."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "idempotency_record",
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_idempotency_record")),
    )


def add_idempotency_request_hash_v2() -> None:
    """Keep a fingerprint of each kept request, so a key reused for another request is refused."""
    import sqlalchemy as sa
    from alembic import op

    with op.batch_alter_table("idempotency_record") as batch:
        batch.add_column(sa.Column("request_hash", sa.String(64), nullable=True))


def drop_idempotency_request_hash_v2() -> None:
    """Undo `add_idempotency_request_hash_v2`."""
    from alembic import op

    with op.batch_alter_table("idempotency_record") as batch:
        batch.drop_column("request_hash")


def create_object_ledger_v1() -> None:
    """Create the ledger of the keys a service put (`licheng.kit.object_sweep`)."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "object_ledger",
        sa.Column("bucket", sa.String(63), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("put_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("orphaned_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bucket", "key", name=op.f("pk_object_ledger")),
    )
    op.create_index(op.f("ix_object_ledger_put_at"), "object_ledger", ["put_at"])
    op.create_index(op.f("ix_object_ledger_orphaned_at"), "object_ledger", ["orphaned_at"])


def drop_object_ledger_v1() -> None:
    """Drop what `create_object_ledger_v1` created."""
    from alembic import op

    op.drop_table("object_ledger")


def create_roster_tables_v1() -> None:
    """Create the kit's read model of identity (`licheng.kit.roster`): people, classes, roles."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "known_class",
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("class_code", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("homeroom_person_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("school_code", "class_code", name=op.f("pk_known_class")),
    )
    op.create_index(
        op.f("ix_known_class_homeroom_person_id"), "known_class", ["homeroom_person_id"]
    )
    op.create_table(
        "known_person",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("student", "staff", name="personkind", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("local_no", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("class_code", sa.String(length=20), nullable=True),
        sa.Column("seat_no", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_person")),
        sa.UniqueConstraint(
            "school_code", "kind", "local_no", name=op.f("uq_known_person_school_code")
        ),
    )
    op.create_index(op.f("ix_known_person_class_code"), "known_person", ["class_code"])
    op.create_index(op.f("ix_known_person_school_code"), "known_person", ["school_code"])
    op.create_table(
        "known_roles",
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("school_code", "person_id", name=op.f("pk_known_roles")),
    )


def drop_roster_tables_v1() -> None:
    """Drop the kit's read model of identity."""
    from alembic import op

    op.drop_table("known_roles")
    op.drop_index(op.f("ix_known_person_school_code"), table_name="known_person")
    op.drop_index(op.f("ix_known_person_class_code"), table_name="known_person")
    op.drop_table("known_person")
    op.drop_index(op.f("ix_known_class_homeroom_person_id"), table_name="known_class")
    op.drop_table("known_class")
