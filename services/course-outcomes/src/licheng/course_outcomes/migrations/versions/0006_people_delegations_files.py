"""Seat numbers and roles in the read model, 代理人, a 勾選 window, several files per outcome.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("known_person", sa.Column("seat_no", sa.Integer(), nullable=True))
    op.create_table(
        "known_roles",
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("school_code", "person_id", name=op.f("pk_known_roles")),
    )
    op.add_column(
        "outcome_parameters",
        sa.Column("select_from", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "outcome_parameters",
        sa.Column("select_until", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("outcome_file") as batch:
        batch.drop_constraint("uq_outcome_file_outcome_id", type_="unique")
    op.create_index(
        "ix_outcome_school_term_status",
        "outcome",
        ["school_code", "academic_year", "semester", "status"],
    )
    op.create_table(
        "certifier_delegation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("teacher_id", sa.Uuid(), nullable=False),
        sa.Column("substitute_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_early_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certifier_delegation")),
    )
    for column in ("school_code", "teacher_id", "substitute_id"):
        op.create_index(op.f(f"ix_certifier_delegation_{column}"), "certifier_delegation", [column])


def downgrade() -> None:
    for column in ("school_code", "teacher_id", "substitute_id"):
        op.drop_index(op.f(f"ix_certifier_delegation_{column}"), table_name="certifier_delegation")
    op.drop_table("certifier_delegation")
    op.drop_index("ix_outcome_school_term_status", table_name="outcome")
    with op.batch_alter_table("outcome_file") as batch:
        batch.create_unique_constraint("uq_outcome_file_outcome_id", ["outcome_id", "slot"])
    op.drop_column("outcome_parameters", "select_until")
    op.drop_column("outcome_parameters", "select_from")
    op.drop_table("known_roles")
    op.drop_column("known_person", "seat_no")
