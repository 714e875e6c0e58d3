"""Who may do what in course outcomes: the typed callers every router takes.

Each alias is a FastAPI dependency built on the kit's `grant_of()` (the permission matrix) plus
the scope rule of course outcomes, so routers never check scopes by hand:

- `Student`: the student themself (學生, scope own) — their courses, outcomes and selection.
- `Certifier`: whoever certifies (see `certification/eligibility.py`): a 授課教師 by grant or
  by the 修課紀錄, or a 代理人 acting for one; `acting_for` lists whose outcomes they decide.
- `CourseStaff`: 課程學習提交者 or the admin (school-wide course outcomes).
- `StatusViewer`: course staff, or a 導師 for their own classes.
- `PortfolioReader`: anyone who reads portfolios in the school.
- `OutcomeReader`: anyone who may open some outcome: the student, course staff, the 導師 of the
  student's class, or the outcome's certifier (and their 代理人); `readable()` decides per outcome.
- `Admin`: the school's 系統管理者 (reopening a submitted term).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.permissions import CAPABILITY_TITLES, Capability, Scope
from licheng.course_outcomes.certification.eligibility import CertifierReach, reach_of
from licheng.course_outcomes.models import Outcome, OutcomeStatus
from licheng.course_outcomes.outcomes import repository as outcomes
from licheng.course_outcomes.roster import repository as roster
from licheng.kit.auth import Principal, get_principal
from licheng.kit.db import SessionDep
from licheng.kit.errors import Forbidden, NotFound
from licheng.kit.permissions import Caller as Caller
from licheng.kit.permissions import Grant, authorize, grant_of, student_caller

COURSE_STAFF_SCOPES = frozenset({Scope.ALL, Scope.COURSE_OUTCOMES})


def is_course_staff(grant: Grant) -> bool:
    """True when the grant reaches course outcomes school-wide."""
    return bool(grant.scopes & COURSE_STAFF_SCOPES)


@dataclass(frozen=True)
class CertifierCaller(Caller):
    """A certifying caller and whose outcomes they decide now."""

    reach: CertifierReach

    @property
    def acting_for(self) -> frozenset[uuid.UUID]:
        """Certifier ids whose outcomes the caller decides: their own and their delegators'."""
        return self.reach.acting_for


def _grant_or_none(principal: Principal, school_code: str, capability: Capability) -> Grant | None:
    try:
        return authorize(principal, school_code, capability)
    except Forbidden:
        return None


async def _certifier(
    request: Request, session: SessionDep, principal: Annotated[Principal, Depends(get_principal)]
) -> CertifierCaller:
    school_code = str(request.path_params.get("school_code", ""))
    _grant_or_none(principal, school_code, Capability.PORTFOLIO_READ)  # 404 for a bad school code
    person_id = principal.person_id
    roles = principal.roles_in(school_code)
    reach = (
        await reach_of(session, school_code, person_id, token_roles=roles)
        if person_id is not None and not principal.service
        else None
    )
    if reach is None or person_id is None or not reach.any:
        raise Forbidden(
            f"您沒有「{CAPABILITY_TITLES[Capability.OUTCOMES_CERTIFY]}」的權限",
            detail={"capability": Capability.OUTCOMES_CERTIFY.value, "school_code": school_code},
        )
    grant = Grant(
        principal, school_code, Capability.OUTCOMES_CERTIFY, frozenset({Scope.OWN_COURSES}), roles
    )
    return CertifierCaller(grant, person_id, reach)


@dataclass(frozen=True)
class Reader:
    """What of the school's outcomes a caller may open."""

    school_code: str
    person_id: uuid.UUID | None
    course_staff: bool
    student: bool
    homeroom_classes: frozenset[str]
    acting_for: frozenset[uuid.UUID]

    async def open(self, session: AsyncSession, outcome_id: uuid.UUID) -> Outcome:
        """The school's outcome `outcome_id` if this caller may open it; 404 otherwise."""
        return await self.readable(
            session, await outcomes.get_outcome(session, self.school_code, outcome_id)
        )

    async def readable(self, session: AsyncSession, outcome: Outcome | None) -> Outcome:
        """The outcome if this caller may open it; 404 otherwise, never its data."""
        if outcome is not None and await self._reaches(session, outcome):
            return outcome
        raise NotFound("找不到此課程學習成果", code="outcome_not_found")

    async def _reaches(self, session: AsyncSession, outcome: Outcome) -> bool:
        if self.course_staff or (self.student and outcome.student_id == self.person_id):
            return True
        if outcome.certifier_id in self.acting_for and outcome.status != OutcomeStatus.DRAFT:
            return True
        if self.homeroom_classes:
            student = await roster.get_person(session, outcome.school_code, outcome.student_id)
            return student is not None and student.class_code in self.homeroom_classes
        return False


async def _reader(
    request: Request, session: SessionDep, principal: Annotated[Principal, Depends(get_principal)]
) -> Reader:
    school_code = str(request.path_params.get("school_code", ""))
    grant = _grant_or_none(principal, school_code, Capability.PORTFOLIO_READ)
    scopes = grant.scopes if grant else frozenset()
    person_id = principal.person_id
    staff = grant is not None and is_course_staff(grant)
    homeroom: frozenset[str] = frozenset()
    acting_for: frozenset[uuid.UUID] = frozenset()
    if person_id is not None and not staff and scopes != {Scope.OWN}:
        if Scope.OWN_CLASS in scopes:
            homeroom = frozenset(await roster.homeroom_classes(session, school_code, person_id))
        roles = principal.roles_in(school_code)
        acting_for = (await reach_of(session, school_code, person_id, token_roles=roles)).acting_for
    if grant is None and not acting_for:
        raise Forbidden(
            f"您沒有「{CAPABILITY_TITLES[Capability.PORTFOLIO_READ]}」的權限",
            detail={"capability": Capability.PORTFOLIO_READ.value, "school_code": school_code},
        )
    return Reader(
        school_code=school_code,
        person_id=person_id,
        course_staff=staff,
        student=Scope.OWN in scopes,
        homeroom_classes=homeroom,
        acting_for=acting_for,
    )


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


Student = Annotated[Caller, Depends(student_caller)]
Certifier = Annotated[CertifierCaller, Depends(_certifier)]
OutcomeReader = Annotated[Reader, Depends(_reader)]
CourseStaff = Annotated[Grant, Depends(_course_staff)]
StatusViewer = Annotated[Grant, Depends(_status_viewer)]
PortfolioReader = Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_READ))]
Admin = Annotated[Grant, Depends(grant_of(Capability.PERMISSIONS_MANAGE))]


def certifies(caller: CertifierCaller, outcome: Outcome | None) -> Outcome:
    """The outcome if the caller certifies it (themself or as 代理人); 404 otherwise."""
    if outcome is None or outcome.certifier_id not in caller.acting_for:
        raise NotFound("找不到此課程學習成果", code="outcome_not_found")
    return outcome
