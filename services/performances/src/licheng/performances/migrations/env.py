"""Alembic environment of the performances service."""

from sqlmodel import SQLModel

import licheng.kit.audit
import licheng.kit.idempotency
import licheng.kit.inbox
import licheng.kit.object_sweep
import licheng.kit.outbox
import licheng.performances.models  # noqa: F401  (register the service's tables)
from licheng.kit.migrations import run_env

run_env(SQLModel.metadata)
