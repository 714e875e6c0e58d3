"""Who may run the course-outcomes staff functions (課程學習提交者 or the admin)."""

from __future__ import annotations

from licheng.contracts.permissions import Scope
from licheng.kit.errors import Forbidden
from licheng.kit.permissions import Grant

COURSE_STAFF_SCOPES = frozenset({Scope.ALL, Scope.COURSE_OUTCOMES})


def require_course_staff(grant: Grant) -> None:
    """Refuse callers whose grant does not reach course outcomes school-wide."""
    if not grant.scopes & COURSE_STAFF_SCOPES:
        raise Forbidden("此功能僅限課程學習提交者或系統管理者使用", code="course_staff_only")
