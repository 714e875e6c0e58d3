"""Every query on people and classes. Each starts from a base query scoped to one school, so an
unscoped query cannot be written by accident; the one exception is the sign-in name, which is
unique across the district (`<school>-s-<學號>`) and is looked up by the development issuer."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from licheng.identity.models import Person, PersonKind, SchoolClass
from licheng.kit.pagination import PageParams, paginate

BATCH = 500


def _people(school_code: str) -> SelectOfScalar[Person]:
    return select(Person).where(Person.school_code == school_code)


def _classes(school_code: str) -> SelectOfScalar[SchoolClass]:
    return select(SchoolClass).where(SchoolClass.school_code == school_code)


async def get_person(
    session: AsyncSession, school_code: str, person_id: uuid.UUID
) -> Person | None:
    """One person of the school."""
    return (await session.exec(_people(school_code).where(Person.id == person_id))).first()


async def get_by_username(session: AsyncSession, username: str) -> Person | None:
    """A person by sign-in name, unique across the district (development issuer)."""
    return (await session.exec(select(Person).where(Person.username == username))).first()


async def people_by_local_no(
    session: AsyncSession, school_code: str, kind: PersonKind
) -> dict[str, Person]:
    """All students (or staff) of the school keyed by 學號 (or 教師編號)."""
    stmt = _people(school_code).where(Person.kind == kind)
    return {p.local_no: p for p in (await session.exec(stmt)).all()}


async def people_by_ids(
    session: AsyncSession, school_code: str, ids: Iterable[uuid.UUID]
) -> list[Person]:
    """The school's people with these ids (others are not found)."""
    wanted = list(set(ids))
    found: list[Person] = []
    for start in range(0, len(wanted), BATCH):
        stmt = _people(school_code).where(col(Person.id).in_(wanted[start : start + BATCH]))
        found.extend((await session.exec(stmt)).all())
    return found


async def holders_of_national_ids(
    session: AsyncSession, school_code: str, indexes: Iterable[str]
) -> dict[str, str]:
    """Blind index → 學號 of the students already holding those 身分證號."""
    wanted = list(set(indexes))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), BATCH):
        stmt = _people(school_code).where(
            col(Person.national_id_index).in_(wanted[start : start + BATCH])
        )
        for person in (await session.exec(stmt)).all():
            if person.national_id_index:
                found[person.national_id_index] = person.local_no
    return found


async def students_by_national_id_index(
    session: AsyncSession, school_code: str, indexes: Iterable[str]
) -> dict[str, list[Person]]:
    """Blind index → the school's students holding that 身分證號 (normally one)."""
    wanted = list(set(indexes))
    found: dict[str, list[Person]] = {}
    for start in range(0, len(wanted), BATCH):
        stmt = _people(school_code).where(
            Person.kind == PersonKind.STUDENT,
            col(Person.national_id_index).in_(wanted[start : start + BATCH]),
        )
        for person in (await session.exec(stmt)).all():
            if person.national_id_index:
                found.setdefault(person.national_id_index, []).append(person)
    return found


async def list_people(
    session: AsyncSession,
    school_code: str,
    *,
    kind: PersonKind,
    class_codes: Iterable[str] | None,
    person_id: uuid.UUID | None,
    paging: PageParams,
) -> tuple[list[Person], int]:
    """A page of the school's students or staff, optionally within classes or one person."""
    stmt = _people(school_code).where(Person.kind == kind)
    if class_codes is not None:
        stmt = stmt.where(col(Person.class_code).in_(list(class_codes)))
    if person_id is not None:
        stmt = stmt.where(Person.id == person_id)
    ordered = stmt.order_by(col(Person.class_code), col(Person.seat_no), col(Person.local_no))
    return await paginate(session, ordered, paging)


async def classes_by_code(session: AsyncSession, school_code: str) -> dict[str, SchoolClass]:
    """All classes of the school keyed by 班級代碼."""
    return {c.class_code: c for c in (await session.exec(_classes(school_code))).all()}


async def homeroom_class_codes(
    session: AsyncSession, school_code: str, person_id: uuid.UUID
) -> list[str]:
    """The classes whose 導師 is this person."""
    stmt = _classes(school_code).where(SchoolClass.homeroom_person_id == person_id)
    return [c.class_code for c in (await session.exec(stmt)).all()]


async def list_classes(
    session: AsyncSession, school_code: str, paging: PageParams
) -> tuple[list[SchoolClass], int]:
    """A page of the school's classes in code order, and their total."""
    stmt = _classes(school_code).order_by(col(SchoolClass.class_code))
    return await paginate(session, stmt, paging)
