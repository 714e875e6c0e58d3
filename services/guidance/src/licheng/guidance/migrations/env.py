"""Alembic environment of the guidance service."""

from sqlmodel import SQLModel

import licheng.guidance.models
import licheng.kit.audit
import licheng.kit.idempotency
import licheng.kit.inbox
import licheng.kit.object_sweep
import licheng.kit.outbox  # noqa: F401  (register the tables)
from licheng.kit.migrations import run_env

run_env(SQLModel.metadata)
