"""`GET …/audit`: the performances audit log, for the school's admin."""

from __future__ import annotations

from licheng.kit.audit_api import audit_router
from licheng.performances.auth import Admin

router = audit_router(prefix="/api/performances/v1/schools/{school_code}", reader=Admin)
