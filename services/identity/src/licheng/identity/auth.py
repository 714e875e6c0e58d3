"""Who may do what in identity: the typed callers every router takes.

Built on the kit's `grant_of()` (the permission matrix) plus identity's scope rules, so routers
never check scopes by hand:

- `SchoolAdmin`: 系統管理者 (權限設定: grants, staff list, audit, the school's term).
- `Importer`: 增修學生歷程資料 school-wide, i.e. the admin (imports of people and classes).
- `AnnouncementEditor`: 公告編輯.
- `PortfolioReader`: 瀏覽學生歷程資料 at any scope; `StudentVisibility` resolves which students.
- `ProfileOwner`: 學生資料維護 (a student's own contact fields).
- `SchoolMember`: anyone holding any role in the school (reading announcements).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from licheng.contracts.permissions import Capability, Role, Scope, capabilities_of
from licheng.identity.people import repository
from licheng.kit.auth import Principal, get_principal
from licheng.kit.db import SessionDep
from licheng.kit.errors import Forbidden
from licheng.kit.permissions import Grant, grant_of


async def _importer(
    grant: Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_WRITE))],
) -> Grant:
    if Scope.ALL not in grant.scopes:
        raise Forbidden("此功能僅限系統管理者使用", code="admin_only")
    return grant


@dataclass(frozen=True)
class Member:
    """A person holding roles in the school of the path."""

    principal: Principal
    school_code: str
    roles: frozenset[Role]

    def may(self, capability: Capability) -> bool:
        """True when one of the member's roles holds `capability`."""
        return capability in capabilities_of(self.roles)


async def _member(
    request: Request, principal: Annotated[Principal, Depends(get_principal)]
) -> Member:
    school_code = str(request.path_params.get("school_code", ""))
    roles = principal.roles_in(school_code)
    if not roles:
        raise Forbidden("您不屬於此學校", code="not_in_school")
    return Member(principal, school_code, roles)


@dataclass(frozen=True)
class Visibility:
    """Which students a reader sees: every one, some classes, or only themself."""

    class_codes: list[str] | None = None  # None: no class restriction
    person_id: uuid.UUID | None = None  # set: only this person
    contact: bool = False  # whether e-mail, phone and address may be shown


async def _student_visibility(
    session: SessionDep,
    grant: Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_READ))],
    class_code: str | None = None,
) -> Visibility:
    wanted = [class_code] if class_code else None
    if grant.scopes - {Scope.OWN, Scope.OWN_CLASS}:
        # A school-wide (admin) or domain-wide (submitters, item managers) reader; only the
        # admin needs to reach students.
        return Visibility(class_codes=wanted, contact=Scope.ALL in grant.scopes)
    me = grant.principal.person_id
    if Scope.OWN_CLASS in grant.scopes and me is not None:
        mine = await repository.homeroom_class_codes(session, grant.school_code, me)
        return Visibility(class_codes=[c for c in (wanted or mine) if c in mine], contact=True)
    return Visibility(person_id=me or uuid.UUID(int=0), contact=True)


SchoolAdmin = Annotated[Grant, Depends(grant_of(Capability.PERMISSIONS_MANAGE))]
Importer = Annotated[Grant, Depends(_importer)]
AnnouncementEditor = Annotated[Grant, Depends(grant_of(Capability.ANNOUNCEMENTS_EDIT))]
PortfolioReader = Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_READ))]
StudentVisibility = Annotated[Visibility, Depends(_student_visibility)]
ProfileOwner = Annotated[Grant, Depends(grant_of(Capability.PROFILE_MAINTAIN))]
SchoolMember = Annotated[Member, Depends(_member)]
