"""Identity tables: schools, people, classes, role grants, announcements.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 16:14:18.216325
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "school",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("academic_year", sa.Integer(), nullable=False),
        sa.Column("semester", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_school")),
    )
    op.create_table(
        "announcement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=10), nullable=False),
        sa.Column("publish_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("publish_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_code"], ["school.code"], name=op.f("fk_announcement_school_code_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement")),
    )
    op.create_index(
        op.f("ix_announcement_school_code"), "announcement", ["school_code"], unique=False
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("local_no", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("class_code", sa.String(length=20), nullable=True),
        sa.Column("seat_no", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("national_id_enc", sa.LargeBinary(), nullable=True),
        sa.Column("national_id_index", sa.String(length=64), nullable=True),
        sa.Column("birth_date_enc", sa.LargeBinary(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_code"], ["school.code"], name=op.f("fk_person_school_code_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("school_code", "kind", "local_no", name=op.f("uq_person_school_code")),
        sa.UniqueConstraint("username", name=op.f("uq_person_username")),
    )
    op.create_index(op.f("ix_person_class_code"), "person", ["class_code"], unique=False)
    op.create_index(
        op.f("ix_person_national_id_index"), "person", ["national_id_index"], unique=False
    )
    op.create_index(op.f("ix_person_school_code"), "person", ["school_code"], unique=False)
    op.create_table(
        "role_grant",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_role_grant_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["school_code"], ["school.code"], name=op.f("fk_role_grant_school_code_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grant")),
        sa.UniqueConstraint(
            "school_code", "person_id", "role", name=op.f("uq_role_grant_school_code")
        ),
    )
    op.create_index(op.f("ix_role_grant_person_id"), "role_grant", ["person_id"], unique=False)
    op.create_index(op.f("ix_role_grant_school_code"), "role_grant", ["school_code"], unique=False)
    op.create_table(
        "school_class",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("class_code", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=True),
        sa.Column("homeroom_person_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["homeroom_person_id"],
            ["person.id"],
            name=op.f("fk_school_class_homeroom_person_id_person"),
        ),
        sa.ForeignKeyConstraint(
            ["school_code"], ["school.code"], name=op.f("fk_school_class_school_code_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_school_class")),
        sa.UniqueConstraint("school_code", "class_code", name=op.f("uq_school_class_school_code")),
    )
    op.create_index(
        op.f("ix_school_class_school_code"), "school_class", ["school_code"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_school_class_school_code"), table_name="school_class")
    op.drop_table("school_class")
    op.drop_index(op.f("ix_role_grant_school_code"), table_name="role_grant")
    op.drop_index(op.f("ix_role_grant_person_id"), table_name="role_grant")
    op.drop_table("role_grant")
    op.drop_index(op.f("ix_person_school_code"), table_name="person")
    op.drop_index(op.f("ix_person_national_id_index"), table_name="person")
    op.drop_index(op.f("ix_person_class_code"), table_name="person")
    op.drop_table("person")
    op.drop_index(op.f("ix_announcement_school_code"), table_name="announcement")
    op.drop_table("announcement")
    op.drop_table("school")
