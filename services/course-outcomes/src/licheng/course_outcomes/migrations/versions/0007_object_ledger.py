"""The ledger of the objects this service put, for the sweep of unreferenced ones, and an
index on each column whose keys keep an object (the sweep looks keys up there).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 03:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

from licheng.kit.migrations import create_object_ledger_v1, drop_object_ledger_v1

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_object_ledger_v1()
    op.create_index(op.f("ix_outcome_file_object_key"), "outcome_file", ["object_key"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outcome_file_object_key"), table_name="outcome_file")
    drop_object_ledger_v1()
