"""Answers kept for writes sent with an Idempotency-Key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

from licheng.kit.migrations import create_idempotency_table_v1

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_idempotency_table_v1()


def downgrade() -> None:
    op.drop_table("idempotency_record")
