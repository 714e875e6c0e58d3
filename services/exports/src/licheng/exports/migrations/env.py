"""Alembic environment of the exports service."""

from sqlmodel import SQLModel

import licheng.kit.audit
import licheng.kit.inbox
import licheng.kit.outbox  # noqa: F401  (register the kit's tables)
from licheng.kit.migrations import run_env

run_env(SQLModel.metadata)
