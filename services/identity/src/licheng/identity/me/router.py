"""`GET /me`: the caller's person id, name and roles per school, straight from the token."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel

from licheng.contracts.permissions import ROLE_TITLES, Role
from licheng.kit.auth import CurrentPrincipal
from licheng.kit.errors import error_responses

router = APIRouter(prefix="/api/identity/v1", tags=["me"], responses=error_responses())


class SchoolRolesPublic(BaseModel):
    school_code: str
    roles: list[Role]
    role_titles: list[str]


class MePublic(BaseModel):
    person_id: uuid.UUID | None
    username: str | None
    name: str | None
    district_operator: bool
    schools: list[SchoolRolesPublic]


@router.get("/me", response_model=MePublic, summary="目前登入者與各校角色")
async def read_me(principal: CurrentPrincipal) -> MePublic:
    """The caller and the roles they hold in each school."""
    schools = [
        SchoolRolesPublic(
            school_code=code,
            roles=sorted(roles),
            role_titles=[ROLE_TITLES[role] for role in sorted(roles)],
        )
        for code, roles in sorted(principal.roles_by_school.items())
    ]
    return MePublic(
        person_id=principal.person_id,
        username=principal.username,
        name=principal.name,
        district_operator=principal.district_operator,
        schools=schools,
    )
