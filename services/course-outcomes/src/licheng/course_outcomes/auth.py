"""Who may do what in course outcomes: the typed callers every router takes.

Each alias is a FastAPI dependency built on the kit's `grant_of()` (the permission matrix) plus
the scope rule of course outcomes, so routers never check scopes by hand:

- `Student`: the student themself (學生, scope own) — their courses, outcomes and selection.
- `Certifier`: a 授課教師 certifying the outcomes assigned to them (own courses + reassigned).
- `CourseStaff`: 課程學習提交者 or the admin (school-wide course outcomes).
- `StatusViewer`: course staff, or a 導師 for their own classes.
- `PortfolioReader`: anyone who reads portfolios in the school (for `may_read`).
- `Admin`: the school's 系統管理者 (reopening a submitted term).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from licheng.contracts.permissions import Capability, Scope
from licheng.course_outcomes.models import Outcome
from licheng.kit.errors import Forbidden, NotFound
from licheng.kit.permissions import Grant, grant_of

COURSE_STAFF_SCOPES = frozenset({Scope.ALL, Scope.COURSE_OUTCOMES})


@dataclass(frozen=True)
class Caller:
    """A grant together with the person it belongs to."""

    grant: Grant
    person_id: uuid.UUID

    @property
    def school_code(self) -> str:
        """The school of the path."""
        return self.grant.school_code


def is_course_staff(grant: Grant) -> bool:
    """True when the grant reaches course outcomes school-wide."""
    return bool(grant.scopes & COURSE_STAFF_SCOPES)


async def _student(
    grant: Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_WRITE))],
) -> Caller:
    if Scope.OWN not in grant.scopes or grant.principal.person_id is None:
        raise Forbidden("此功能僅限學生本人使用", code="student_only")
    return Caller(grant, grant.principal.person_id)


async def _certifier(
    grant: Annotated[Grant, Depends(grant_of(Capability.OUTCOMES_CERTIFY))],
) -> Caller:
    if grant.principal.person_id is None:
        raise Forbidden("此功能僅限授課教師使用", code="teacher_only")
    return Caller(grant, grant.principal.person_id)


async def _course_staff(
    grant: Annotated[Grant, Depends(grant_of(Capability.ROSTERS_SUBMIT))],
) -> Grant:
    if not is_course_staff(grant):
        raise Forbidden("此功能僅限課程學習提交者或系統管理者使用", code="course_staff_only")
    return grant


async def _status_viewer(
    grant: Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_READ))],
) -> Grant:
    if is_course_staff(grant):
        return grant
    if Scope.OWN_CLASS not in grant.scopes or grant.principal.person_id is None:
        raise Forbidden("此功能僅限課程學習提交者、系統管理者或導師使用", code="status_forbidden")
    return grant


Student = Annotated[Caller, Depends(_student)]
Certifier = Annotated[Caller, Depends(_certifier)]
CourseStaff = Annotated[Grant, Depends(_course_staff)]
StatusViewer = Annotated[Grant, Depends(_status_viewer)]
PortfolioReader = Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_READ))]
Admin = Annotated[Grant, Depends(grant_of(Capability.PERMISSIONS_MANAGE))]


def may_read(grant: Grant, outcome: Outcome | None) -> Outcome:
    """The outcome if the caller is its student or course staff; 404 otherwise, never data.

    Teachers read the outcomes they certify through the certification queue.
    """
    if outcome is not None:
        own = Scope.OWN in grant.scopes and outcome.student_id == grant.principal.person_id
        if own or is_course_staff(grant):
            return outcome
    raise NotFound("找不到此課程學習成果", code="outcome_not_found")


def certifies(caller: Caller, outcome: Outcome | None) -> Outcome:
    """The outcome if the caller is its certifying teacher; 404 otherwise."""
    if outcome is None or outcome.certifier_id != caller.person_id:
        raise NotFound("找不到此課程學習成果", code="outcome_not_found")
    return outcome
