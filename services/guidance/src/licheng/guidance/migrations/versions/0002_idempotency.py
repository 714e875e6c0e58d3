"""Idempotency records (with the request fingerprint) for retried writes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

from licheng.kit.migrations import (
    add_idempotency_request_hash_v2,
    create_idempotency_table_v1,
)

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_idempotency_table_v1()
    add_idempotency_request_hash_v2()


def downgrade() -> None:
    op.drop_table("idempotency_record")
