"""Schools: the district operator creates them; everyone in a school reads it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from pydantic import BaseModel

from licheng.identity.auth import SchoolAdmin
from licheng.identity.deps import API, SCHOOL
from licheng.identity.schools import repository, service
from licheng.identity.schools.service import AdminAppointment, SchoolCreate, TermUpdate
from licheng.kit.auth import CurrentPrincipal, Principal
from licheng.kit.db import SessionDep
from licheng.kit.errors import NotFound, error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.permissions import require_district_operator

router = APIRouter(tags=["schools"], responses=error_responses())


class SchoolPublic(BaseModel):
    code: str
    name: str
    academic_year: int
    semester: int


class SchoolCreated(SchoolPublic):
    admin_person_id: uuid.UUID
    admin_username: str


@router.post(
    API + "/schools",
    status_code=status.HTTP_201_CREATED,
    response_model=SchoolCreated,
    summary="建立學校並指派第一位系統管理者",
)
async def create_school(
    payload: SchoolCreate, session: SessionDep, operator: Principal = require_district_operator()
) -> SchoolCreated:
    """District operator only."""
    school, admin = await service.create_school(
        session, payload=payload, actor_id=operator.person_id
    )
    return SchoolCreated(
        code=school.code,
        name=school.name,
        academic_year=school.academic_year,
        semester=school.semester,
        admin_person_id=admin.id,
        admin_username=admin.username,
    )


@router.get(API + "/schools", response_model=Page[SchoolPublic], summary="學校列表")
async def list_schools(
    session: SessionDep, principal: CurrentPrincipal, paging: Paging
) -> Page[SchoolPublic]:
    """All schools for the district operator; otherwise the caller's own schools."""
    codes = None if principal.district_operator else set(principal.roles_by_school)
    schools, total = await repository.page_of_schools(session, codes, paging)
    items = [SchoolPublic.model_validate(s, from_attributes=True) for s in schools]
    return page_of(items, total, paging)


@router.get(SCHOOL, response_model=SchoolPublic, summary="學校資料")
async def read_school(
    school_code: str, session: SessionDep, principal: CurrentPrincipal
) -> SchoolPublic:
    """Anyone holding a role in the school (or the district operator)."""
    if not principal.district_operator and not principal.roles_in(school_code):
        raise NotFound("找不到指定的學校", code="school_not_found")
    school = await service.get_school(session, school_code)
    return SchoolPublic.model_validate(school, from_attributes=True)


@router.put(SCHOOL + "/term", response_model=SchoolPublic, summary="設定目前學年度與學期")
async def set_term(
    school_code: str,
    term: TermUpdate,
    session: SessionDep,
    grant: SchoolAdmin,
) -> SchoolPublic:
    """The school admin moves the school to a new term."""
    school = await service.set_term(
        session, code=school_code, term=term, actor_id=grant.principal.person_id
    )
    return SchoolPublic.model_validate(school, from_attributes=True)


@router.post(SCHOOL + "/admins", status_code=status.HTTP_201_CREATED, summary="指派系統管理者")
async def appoint_admin(
    school_code: str,
    payload: AdminAppointment,
    session: SessionDep,
    operator: Principal = require_district_operator(),
) -> dict[str, str]:
    """District operator appoints (another) admin for a school."""
    school = await service.get_school(session, school_code)
    person = await service.appoint_admin(
        session, school=school, payload=payload, actor_id=operator.person_id
    )
    return {"person_id": str(person.id), "username": person.username}
