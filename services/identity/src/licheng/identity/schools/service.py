"""Creating schools and appointing each school's first 系統管理者."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import SchoolCreated
from licheng.contracts.permissions import Role
from licheng.contracts.schools import SchoolCode
from licheng.identity.grants import service as grants
from licheng.identity.models import Person, PersonKind, School
from licheng.identity.people import repository as people
from licheng.identity.people.imports import announce_person, username_for
from licheng.identity.schools import repository
from licheng.kit.changes import record_change
from licheng.kit.errors import Conflict, NotFound


class AdminAppointment(BaseModel):
    staff_no: str = Field(min_length=1, max_length=20, description="教師編號")
    name: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SchoolCreate(BaseModel):
    code: SchoolCode = Field(description="教育部學校代碼（6 碼）")
    name: str = Field(min_length=1, max_length=100)
    academic_year: int = Field(ge=100, le=200, description="目前學年度")
    semester: int = Field(ge=1, le=2)
    admin: AdminAppointment


class TermUpdate(BaseModel):
    academic_year: int = Field(ge=100, le=200)
    semester: int = Field(ge=1, le=2)


async def create_school(
    session: AsyncSession, *, payload: SchoolCreate, actor_id: uuid.UUID | None
) -> tuple[School, Person]:
    """Create the school and its first admin (a staff member holding `admin`)."""
    if await repository.get(session, payload.code) is not None:
        raise Conflict(f"學校代碼 {payload.code} 已存在", code="school_exists")
    school = School(
        code=payload.code,
        name=payload.name,
        academic_year=payload.academic_year,
        semester=payload.semester,
    )
    session.add(school)
    await session.flush()
    record_change(
        session,
        school_code=school.code,
        actor_id=actor_id,
        entity="school",
        entity_id=school.code,
        event=SchoolCreated(
            school_code=school.code,
            name=school.name,
            academic_year=school.academic_year,
            semester=school.semester,
        ),
        after={"name": school.name},
    )
    admin = await appoint_admin(session, school=school, payload=payload.admin, actor_id=actor_id)
    return school, admin


async def appoint_admin(
    session: AsyncSession,
    *,
    school: School,
    payload: AdminAppointment,
    actor_id: uuid.UUID | None,
) -> Person:
    """Make a staff member (created when new) the school's 系統管理者."""
    staff = await people.people_by_local_no(session, school.code, PersonKind.STAFF)
    person = staff.get(payload.staff_no)
    if person is None:
        person = Person(
            school_code=school.code,
            kind=PersonKind.STAFF,
            local_no=payload.staff_no,
            username=username_for(school.code, PersonKind.STAFF, payload.staff_no),
            name=payload.name,
            email=payload.email,
        )
        session.add(person)
        await session.flush()
        announce_person(session, person, None, actor_id)
    await grants.grant(
        session, school_code=school.code, person_id=person.id, role=Role.ADMIN, actor_id=actor_id
    )
    return person


async def get_school(session: AsyncSession, code: str) -> School:
    """The school, or 404."""
    school = await repository.get(session, code)
    if school is None:
        raise NotFound("找不到指定的學校", code="school_not_found")
    return school


async def set_term(
    session: AsyncSession, *, code: str, term: TermUpdate, actor_id: uuid.UUID | None
) -> School:
    """Move the school to another term."""
    school = await get_school(session, code)
    before = {"academic_year": school.academic_year, "semester": school.semester}
    school.academic_year, school.semester = term.academic_year, term.semester
    await session.flush()
    record_change(
        session,
        school_code=code,
        actor_id=actor_id,
        entity="school",
        entity_id=code,
        action="school.term_changed",
        before=before,
        after=term.model_dump(),
    )
    return school
