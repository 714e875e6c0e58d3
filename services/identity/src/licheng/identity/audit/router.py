"""`GET /audit`: the school's audit log for its admin (the kit's router; filters person, action,
entity, entity id and date)."""

from __future__ import annotations

from licheng.identity.auth import SchoolAdmin
from licheng.identity.deps import SCHOOL
from licheng.kit.audit_api import AuditPublic, audit_router

__all__ = ["AuditPublic", "router"]

router = audit_router(prefix=SCHOOL, reader=SchoolAdmin)
