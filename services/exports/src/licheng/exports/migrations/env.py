"""Alembic environment of the exports service."""

from sqlmodel import SQLModel

import licheng.exports.models
import licheng.kit.audit
import licheng.kit.idempotency
import licheng.kit.inbox
import licheng.kit.object_sweep
import licheng.kit.outbox
import licheng.kit.roster  # noqa: F401  (register the service's and the kit's tables)
from licheng.kit.migrations import run_env

run_env(SQLModel.metadata)
