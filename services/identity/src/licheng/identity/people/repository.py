"""Every query on people and classes; each takes the school it is scoped to."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.identity.models import Person, PersonKind, SchoolClass
from licheng.kit.pagination import PageParams, paginate


async def get_person(
    session: AsyncSession, school_code: str, person_id: uuid.UUID
) -> Person | None:
    """One person of the school."""
    person = await session.get(Person, person_id)
    return person if person is not None and person.school_code == school_code else None


async def get_person_any_school(session: AsyncSession, person_id: uuid.UUID) -> Person | None:
    """A person by id alone: for the directory sync and service callers, never for requests."""
    return await session.get(Person, person_id)


async def get_by_username(session: AsyncSession, username: str) -> Person | None:
    """A person by sign-in name (development issuer)."""
    return (await session.exec(select(Person).where(Person.username == username))).first()


async def people_by_local_no(
    session: AsyncSession, school_code: str, kind: PersonKind
) -> dict[str, Person]:
    """All students (or staff) of the school keyed by 學號 (or 教師編號)."""
    stmt = select(Person).where(Person.school_code == school_code, Person.kind == kind)
    return {p.local_no: p for p in (await session.exec(stmt)).all()}


async def holders_of_national_ids(
    session: AsyncSession, school_code: str, indexes: Iterable[str]
) -> dict[str, str]:
    """Blind index → 學號 of the students already holding those 身分證號."""
    wanted = list(set(indexes))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        stmt = select(Person.national_id_index, Person.local_no).where(
            Person.school_code == school_code,
            col(Person.national_id_index).in_(wanted[start : start + 500]),
        )
        for index, local_no in (await session.exec(stmt)).all():
            if index:
                found[index] = local_no
    return found


async def list_people(
    session: AsyncSession,
    school_code: str,
    *,
    kind: PersonKind,
    class_codes: Iterable[str] | None,
    person_id: uuid.UUID | None,
    offset: int,
    limit: int,
) -> tuple[list[Person], int]:
    """A page of the school's students or staff, optionally within classes or one person."""
    conditions: list[Any] = [Person.school_code == school_code, Person.kind == kind]
    if class_codes is not None:
        conditions.append(col(Person.class_code).in_(list(class_codes)))
    if person_id is not None:
        conditions.append(Person.id == person_id)
    total_stmt = select(sa.func.count()).select_from(Person).where(*conditions)
    total = int((await session.exec(total_stmt)).one())
    stmt = (
        select(Person)
        .where(*conditions)
        .order_by(col(Person.class_code), col(Person.seat_no), col(Person.local_no))
        .offset(offset)
        .limit(limit)
    )
    return list((await session.exec(stmt)).all()), total


async def classes_by_code(session: AsyncSession, school_code: str) -> dict[str, SchoolClass]:
    """All classes of the school keyed by 班級代碼."""
    stmt = select(SchoolClass).where(SchoolClass.school_code == school_code)
    return {c.class_code: c for c in (await session.exec(stmt)).all()}


async def homeroom_class_codes(
    session: AsyncSession, school_code: str, person_id: uuid.UUID
) -> list[str]:
    """The classes whose 導師 is this person."""
    stmt = select(SchoolClass.class_code).where(
        SchoolClass.school_code == school_code, SchoolClass.homeroom_person_id == person_id
    )
    return list((await session.exec(stmt)).all())


async def list_classes(
    session: AsyncSession, school_code: str, paging: PageParams
) -> tuple[list[SchoolClass], int]:
    """A page of the school's classes in code order, and their total."""
    stmt = (
        select(SchoolClass)
        .where(SchoolClass.school_code == school_code)
        .order_by(col(SchoolClass.class_code))
    )
    return await paginate(session, stmt, paging)


async def people_by_ids(session: AsyncSession, ids: Iterable[uuid.UUID]) -> list[Person]:
    """People by id across schools (the internal endpoint for service callers)."""
    wanted = list(set(ids))
    if not wanted:
        return []
    return list((await session.exec(select(Person).where(col(Person.id).in_(wanted)))).all())
