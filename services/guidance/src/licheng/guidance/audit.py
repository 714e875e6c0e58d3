"""`GET …/audit`: the guidance audit log, for the school's admin."""

from __future__ import annotations

from licheng.guidance.auth import Admin
from licheng.kit.audit_api import audit_router

router = audit_router(prefix="/api/guidance/v1/schools/{school_code}", reader=Admin)
