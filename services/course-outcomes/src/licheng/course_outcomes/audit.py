"""`GET …/audit`: the school admin reads course outcomes' audit log (the kit's router).

Every change here (outcomes, certification, reassignment, parameters, imports, locks) is
audited by `record_change`; `entity=outcome&entity_id=<id>` is one outcome's history.
"""

from __future__ import annotations

from licheng.course_outcomes.auth import Admin
from licheng.kit.audit_api import audit_router

router = audit_router(prefix="/api/course-outcomes/v1/schools/{school_code}", reader=Admin)
