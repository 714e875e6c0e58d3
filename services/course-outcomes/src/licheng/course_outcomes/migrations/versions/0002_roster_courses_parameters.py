"""Roster read model, course sections, enrolments and parameters.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 17:03:05.311576
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
        "course_section",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("academic_year", sa.Integer(), nullable=False),
        sa.Column("semester", sa.Integer(), nullable=False),
        sa.Column("course_code", sa.String(length=23), nullable=False),
        sa.Column("subject_name", sa.String(length=100), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=False),
        sa.Column("teacher_no", sa.String(length=32), nullable=False),
        sa.Column("teacher_id", sa.Uuid(), nullable=True),
        sa.Column("certifier_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_course_section")),
        sa.UniqueConstraint(
            "school_code",
            "academic_year",
            "semester",
            "course_code",
            "teacher_no",
            name=op.f("uq_course_section_school_code"),
        ),
    )
    op.create_index(
        op.f("ix_course_section_certifier_id"), "course_section", ["certifier_id"], unique=False
    )
    op.create_index(
        op.f("ix_course_section_school_code"), "course_section", ["school_code"], unique=False
    )
    op.create_index(
        op.f("ix_course_section_teacher_id"), "course_section", ["teacher_id"], unique=False
    )
    op.create_table(
        "known_class",
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("class_code", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("homeroom_person_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("school_code", "class_code", name=op.f("pk_known_class")),
    )
    op.create_index(
        op.f("ix_known_class_homeroom_person_id"),
        "known_class",
        ["homeroom_person_id"],
        unique=False,
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
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_person")),
        sa.UniqueConstraint(
            "school_code", "kind", "local_no", name=op.f("uq_known_person_school_code")
        ),
    )
    op.create_index(
        op.f("ix_known_person_class_code"), "known_person", ["class_code"], unique=False
    )
    op.create_index(
        op.f("ix_known_person_school_code"), "known_person", ["school_code"], unique=False
    )
    op.create_table(
        "outcome_parameters",
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("academic_year", sa.Integer(), nullable=False),
        sa.Column("semester", sa.Integer(), nullable=False),
        sa.Column("upload_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("upload_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("certify_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("certify_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uploads_per_semester", sa.Integer(), nullable=False),
        sa.Column("selections_per_semester", sa.Integer(), nullable=False),
        sa.Column("files_per_outcome", sa.Integer(), nullable=False),
        sa.Column("brief_max_chars", sa.Integer(), nullable=False),
        sa.Column("file_limits", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "school_code", "academic_year", "semester", name=op.f("pk_outcome_parameters")
        ),
    )
    op.create_table(
        "enrolment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_code", sa.String(length=6), nullable=False),
        sa.Column("section_id", sa.Uuid(), nullable=False),
        sa.Column("student_no", sa.String(length=32), nullable=False),
        sa.Column("student_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("original_academic_year", sa.Integer(), nullable=True),
        sa.Column("original_semester", sa.Integer(), nullable=True),
        sa.Column("retake_method", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["course_section.id"],
            name=op.f("fk_enrolment_section_id_course_section"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment")),
        sa.UniqueConstraint(
            "section_id", "student_no", "kind", name=op.f("uq_enrolment_section_id")
        ),
    )
    op.create_index(op.f("ix_enrolment_school_code"), "enrolment", ["school_code"], unique=False)
    op.create_index(op.f("ix_enrolment_section_id"), "enrolment", ["section_id"], unique=False)
    op.create_index(op.f("ix_enrolment_student_id"), "enrolment", ["student_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_enrolment_student_id"), table_name="enrolment")
    op.drop_index(op.f("ix_enrolment_section_id"), table_name="enrolment")
    op.drop_index(op.f("ix_enrolment_school_code"), table_name="enrolment")
    op.drop_table("enrolment")
    op.drop_table("outcome_parameters")
    op.drop_index(op.f("ix_known_person_school_code"), table_name="known_person")
    op.drop_index(op.f("ix_known_person_class_code"), table_name="known_person")
    op.drop_table("known_person")
    op.drop_index(op.f("ix_known_class_homeroom_person_id"), table_name="known_class")
    op.drop_table("known_class")
    op.drop_index(op.f("ix_course_section_teacher_id"), table_name="course_section")
    op.drop_index(op.f("ix_course_section_school_code"), table_name="course_section")
    op.drop_index(op.f("ix_course_section_certifier_id"), table_name="course_section")
    op.drop_table("course_section")
