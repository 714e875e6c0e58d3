"""Who may do what in guidance: the typed callers every router takes.

- `Student`: the student themself (學生, scope own) — their 自傳 and 學習計畫.
- `Counselor`: a 課程諮詢教師 (課程諮詢紀錄, scope all) — records consultations, edits their own.
- `GuidanceReader`: anyone who may read some of it: the admin (all), a 導師 (their classes'
  counseling records and writings), a counselor (all writings, their and others' records to
  read), the student (their own writings). `Reader` below decides per record.
- `Admin`: the school's 系統管理者 (parameters, the audit log).
- `StudentLookup`: who may look students and classes up (counselors and school-wide staff the
  whole school, a 導師 their own classes).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.permissions import CAPABILITY_TITLES, Capability, Scope
from licheng.kit import roster
from licheng.kit.auth import Principal, get_principal
from licheng.kit.db import SessionDep
from licheng.kit.errors import Forbidden
from licheng.kit.permissions import Caller as Caller
from licheng.kit.permissions import Grant, authorize, grant_of, student_caller

Student = Annotated[Caller, Depends(student_caller)]
Admin = Annotated[Grant, Depends(grant_of(Capability.PERMISSIONS_MANAGE))]


async def _counselor(
    grant: Annotated[Grant, Depends(grant_of(Capability.COUNSELING_RECORD))],
) -> Caller:
    if grant.principal.person_id is None:
        raise Forbidden("此功能僅限課程諮詢教師使用", code="counselor_only")
    return Caller(grant, grant.principal.person_id)


Counselor = Annotated[Caller, Depends(_counselor)]


def _grant_or_none(principal: Principal, school_code: str, capability: Capability) -> Grant | None:
    try:
        return authorize(principal, school_code, capability)
    except Forbidden:
        return None


@dataclass(frozen=True)
class Reader:
    """What of the school's guidance a caller may read."""

    school_code: str
    person_id: uuid.UUID | None
    admin: bool
    counselor: bool
    student: bool
    homeroom_classes: frozenset[str]

    async def reads_student(self, session: AsyncSession, student_id: uuid.UUID) -> bool:
        """True when the caller may read this student's current 自傳 and 學習計畫."""
        if self.admin or self.counselor or (self.student and student_id == self.person_id):
            return True
        if not self.homeroom_classes:
            return False
        person = await roster.get_person(session, self.school_code, student_id)
        return person is not None and person.class_code in self.homeroom_classes


async def _reader(
    request: Request, session: SessionDep, principal: Annotated[Principal, Depends(get_principal)]
) -> Reader:
    school_code = str(request.path_params.get("school_code", ""))
    read = _grant_or_none(principal, school_code, Capability.PORTFOLIO_READ)
    counsel = _grant_or_none(principal, school_code, Capability.COUNSELING_RECORD)
    if read is None and counsel is None:
        raise Forbidden(
            f"您沒有「{CAPABILITY_TITLES[Capability.PORTFOLIO_READ]}」的權限",
            detail={"capability": Capability.PORTFOLIO_READ.value, "school_code": school_code},
        )
    scopes = read.scopes if read else frozenset()
    homeroom: frozenset[str] = frozenset()
    if Scope.OWN_CLASS in scopes and principal.person_id is not None:
        homeroom = frozenset(
            await roster.homeroom_classes(session, school_code, principal.person_id)
        )
    return Reader(
        school_code=school_code,
        person_id=principal.person_id,
        admin=Scope.ALL in scopes,
        counselor=counsel is not None,
        student=Scope.OWN in scopes,
        homeroom_classes=homeroom,
    )


GuidanceReader = Annotated[Reader, Depends(_reader)]


SCHOOL_WIDE_SCOPES = frozenset(Scope) - {Scope.OWN, Scope.OWN_CLASS, Scope.OWN_COURSES}


@dataclass(frozen=True)
class Looker:
    """Someone allowed to look up the school's students and classes, and how far."""

    school_code: str
    person_id: uuid.UUID
    school_wide: bool


async def _looker(
    request: Request, principal: Annotated[Principal, Depends(get_principal)]
) -> Looker:
    school_code = str(request.path_params.get("school_code", ""))
    read = _grant_or_none(principal, school_code, Capability.PORTFOLIO_READ)
    counsel = _grant_or_none(principal, school_code, Capability.COUNSELING_RECORD)
    scopes = read.scopes if read else frozenset()
    school_wide = counsel is not None or bool(scopes & SCHOOL_WIDE_SCOPES)
    if principal.person_id is None or not (school_wide or Scope.OWN_CLASS in scopes):
        raise Forbidden("此功能僅限課程諮詢教師、導師或學校行政人員使用", code="lookup_forbidden")
    return Looker(school_code=school_code, person_id=principal.person_id, school_wide=school_wide)


StudentLookup = Annotated[Looker, Depends(_looker)]
