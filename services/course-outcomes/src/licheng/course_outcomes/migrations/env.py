"""Alembic environment of the course-outcomes service."""

from sqlmodel import SQLModel

import licheng.course_outcomes.models
import licheng.kit.audit
import licheng.kit.idempotency
import licheng.kit.inbox
import licheng.kit.object_sweep
import licheng.kit.outbox  # noqa: F401  (register the tables)
from licheng.kit.migrations import run_env

run_env(SQLModel.metadata)
