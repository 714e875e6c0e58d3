"""Idempotency records keep a fingerprint of the request they answered.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

from licheng.kit.migrations import (
    add_idempotency_request_hash_v2,
    drop_idempotency_request_hash_v2,
)

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_idempotency_request_hash_v2()


def downgrade() -> None:
    drop_idempotency_request_hash_v2()
