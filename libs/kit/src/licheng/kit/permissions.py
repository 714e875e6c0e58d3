"""One FastAPI dependency that enforces a capability of the permission matrix, with its scope.

The school is always explicit in the path (`/schools/{school_code}/…`) and checked against the
token's roles in that school. The resulting `Grant` tells repositories how far the caller may
see; "own", "own class" and "own courses" are resolved by the owning service.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from licheng.contracts.permissions import CAPABILITY_TITLES, Capability, Role, Scope, scopes_for
from licheng.contracts.schools import is_school_code
from licheng.kit.auth import Principal, get_principal
from licheng.kit.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Grant:
    """A capability the caller holds in one school, and the scopes it reaches."""

    principal: Principal
    school_code: str
    capability: Capability
    scopes: frozenset[Scope]
    roles: frozenset[Role]

    def has(self, scope: Scope) -> bool:
        """True when the grant reaches `scope`."""
        return scope in self.scopes

    @property
    def school_wide(self) -> bool:
        """True when the grant covers the whole school."""
        return Scope.ALL in self.scopes


def authorize(principal: Principal, school_code: str, capability: Capability) -> Grant:
    """The caller's grant of `capability` in `school_code`, or Forbidden."""
    if not is_school_code(school_code):
        raise NotFound("找不到指定的學校", code="school_not_found")
    roles = principal.roles_in(school_code)
    scopes = scopes_for(capability, roles)
    if not scopes:
        raise Forbidden(
            f"您沒有「{CAPABILITY_TITLES[capability]}」的權限",
            detail={"capability": capability.value, "school_code": school_code},
        )
    return Grant(principal, school_code, capability, scopes, roles)


def grant_of(capability: Capability) -> Callable[..., Awaitable[Grant]]:
    """The dependency function granting `capability` in the path's school.

    Domains build their typed aliases on it, e.g.
    `Student = Annotated[StudentCaller, Depends(student)]` where `student` takes
    `grant: Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_WRITE))]`.
    """

    async def dependency(request: Request, principal: Principal = Depends(get_principal)) -> Grant:
        school_code = str(request.path_params.get("school_code", ""))
        return authorize(principal, school_code, capability)

    dependency.__name__ = f"grant_{capability.value.replace('.', '_')}"
    return dependency


@dataclass(frozen=True)
class Caller:
    """A grant together with the person it belongs to."""

    grant: Grant
    person_id: uuid.UUID

    @property
    def school_code(self) -> str:
        """The school of the path."""
        return self.grant.school_code


async def student_caller(
    grant: Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_WRITE))],
) -> Caller:
    """The dependency admitting the student themself (學生, scope own), with their person id."""
    if Scope.OWN not in grant.scopes or grant.principal.person_id is None:
        raise Forbidden("此功能僅限學生本人使用", code="student_only")
    return Caller(grant, grant.principal.person_id)


def require(capability: Capability) -> Any:
    """A dependency granting `capability` in the path's school, as a parameter default."""
    return Depends(grant_of(capability))


def require_service() -> Any:
    """A dependency that admits service accounts only (client credentials)."""

    async def dependency(principal: Principal = Depends(get_principal)) -> Principal:
        if not principal.service:
            raise Forbidden("此功能僅供系統服務使用", code="service_only")
        return principal

    return Depends(dependency)


def require_district_operator() -> Any:
    """A dependency that admits the district operator only."""

    async def dependency(principal: Principal = Depends(get_principal)) -> Principal:
        if not principal.district_operator:
            raise Forbidden("此功能僅供教育局（處）管理者使用", code="district_only")
        return principal

    return Depends(dependency)
