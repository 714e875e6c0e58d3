"""權限設定: the school admin grants and revokes roles."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from licheng.contracts.permissions import ROLE_TITLES, Role
from licheng.identity.auth import SchoolAdmin
from licheng.identity.deps import SCHOOL
from licheng.identity.grants import repository, service
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging, page_of

router = APIRouter(prefix=SCHOOL, tags=["grants"], responses=error_responses())


class GrantPublic(BaseModel):
    person_id: uuid.UUID
    role: Role
    role_title: str


@router.get("/grants", response_model=Page[GrantPublic], summary="角色授權列表")
async def list_grants(
    school_code: str, session: SessionDep, paging: Paging, grant: SchoolAdmin
) -> Page[GrantPublic]:
    """Every explicit grant in the school."""
    grants, total = await repository.list_for_school(session, school_code, paging)
    items = [
        GrantPublic(person_id=g.person_id, role=Role(g.role), role_title=ROLE_TITLES[Role(g.role)])
        for g in grants
    ]
    return page_of(items, total, paging)


@router.put("/staff/{person_id}/roles/{role}", summary="授予角色")
async def grant_role(
    school_code: str,
    person_id: uuid.UUID,
    role: Role,
    session: SessionDep,
    response: Response,
    grant: SchoolAdmin,
) -> GrantPublic:
    """Grant; 201 when new, 200 when it was already held."""
    created = await service.grant(
        session,
        school_code=school_code,
        person_id=person_id,
        role=role,
        actor_id=grant.principal.person_id,
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return GrantPublic(person_id=person_id, role=role, role_title=ROLE_TITLES[role])


@router.delete(
    "/staff/{person_id}/roles/{role}", status_code=status.HTTP_204_NO_CONTENT, summary="撤銷角色"
)
async def revoke_role(
    school_code: str,
    person_id: uuid.UUID,
    role: Role,
    session: SessionDep,
    grant: SchoolAdmin,
) -> None:
    """Revoke; revoking a role not held changes nothing."""
    await service.revoke(
        session,
        school_code=school_code,
        person_id=person_id,
        role=role,
        actor_id=grant.principal.person_id,
    )
