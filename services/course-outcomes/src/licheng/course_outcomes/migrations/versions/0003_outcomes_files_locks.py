"""Outcomes, their files and term locks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 17:04:25.108983
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "term_lock",
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("academic_year", sa.Integer(), nullable=False),
        sa.Column("semester", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened_by", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint(
            "school_code", "academic_year", "semester", name=op.f("pk_term_lock")
        ),
    )
    op.create_table(
        "outcome",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("academic_year", sa.Integer(), nullable=False),
        sa.Column("semester", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("section_id", sa.Uuid(), nullable=False),
        sa.Column("certifier_id", sa.Uuid(), nullable=True),
        sa.Column(
            "outcome_type",
            sa.Enum(
                "實作作品", "書面報告", "其他", name="outcometype", native_enum=False, length=10
            ),
            nullable=False,
        ),
        sa.Column("brief", sa.Text(), nullable=False),
        sa.Column("video_url", sa.String(length=500), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "submitted",
                "certified",
                "failed",
                name="outcomestatus",
                native_enum=False,
                length=12,
            ),
            nullable=False,
        ),
        sa.Column(
            "fail_reason",
            sa.Enum("01", "02", "03", "04", name="failreason", native_enum=False),
            nullable=True,
        ),
        sa.Column("fail_explanation", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrolment_id"], ["enrolment.id"], name=op.f("fk_outcome_enrolment_id_enrolment")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"], ["course_section.id"], name=op.f("fk_outcome_section_id_course_section")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome")),
    )
    op.create_index(op.f("ix_outcome_certifier_id"), "outcome", ["certifier_id"], unique=False)
    op.create_index(op.f("ix_outcome_enrolment_id"), "outcome", ["enrolment_id"], unique=False)
    op.create_index(op.f("ix_outcome_school_code"), "outcome", ["school_code"], unique=False)
    op.create_index(op.f("ix_outcome_section_id"), "outcome", ["section_id"], unique=False)
    op.create_index(op.f("ix_outcome_student_id"), "outcome", ["student_id"], unique=False)
    op.create_table(
        "outcome_file",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("outcome_id", sa.Uuid(), nullable=False),
        sa.Column(
            "slot",
            sa.Enum("document", "media", name="fileslot", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("object_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outcome_id"], ["outcome.id"], name=op.f("fk_outcome_file_outcome_id_outcome")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_file")),
        sa.UniqueConstraint("outcome_id", "slot", name=op.f("uq_outcome_file_outcome_id")),
    )
    op.create_index(
        op.f("ix_outcome_file_outcome_id"), "outcome_file", ["outcome_id"], unique=False
    )
    op.create_index(
        op.f("ix_outcome_file_school_code"), "outcome_file", ["school_code"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_outcome_file_school_code"), table_name="outcome_file")
    op.drop_index(op.f("ix_outcome_file_outcome_id"), table_name="outcome_file")
    op.drop_table("outcome_file")
    op.drop_index(op.f("ix_outcome_student_id"), table_name="outcome")
    op.drop_index(op.f("ix_outcome_section_id"), table_name="outcome")
    op.drop_index(op.f("ix_outcome_school_code"), table_name="outcome")
    op.drop_index(op.f("ix_outcome_enrolment_id"), table_name="outcome")
    op.drop_index(op.f("ix_outcome_certifier_id"), table_name="outcome")
    op.drop_table("outcome")
    op.drop_table("term_lock")
