"""The read model of identity that every service keeps: people, classes and roles.

Services never read identity's database. Each keeps `known_person` (學號/教師編號, name, class,
座號, 在籍狀態 — never 身分證號), `known_class` (grade, 導師) and `known_roles` from identity's
events through one durable consumer built here, and asks these queries who is who. A service
that must react when a person arrives (e.g. link imported rows to them) passes `on_person`.
The query pieces below (enrolled students, the classes in use, a class's 導師) are what the
services' status lists build their aggregates from.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import (
    STREAMS,
    ClassUpserted,
    Event,
    GrantChanged,
    PersonUpserted,
)
from licheng.kit.db import enum_column
from licheng.kit.inbox import ConsumerSpec
from licheng.kit.permissions import Grant
from licheng.kit.timeutil import tz_datetime_column, utcnow

ENROLLED = ("在籍", "休學")


class PersonKind(StrEnum):
    STUDENT = "student"
    STAFF = "staff"


class KnownPerson(SQLModel, table=True):
    """A person as identity last announced them."""

    __tablename__ = "known_person"
    __table_args__ = (sa.UniqueConstraint("school_code", "kind", "local_no"),)

    id: uuid.UUID = Field(primary_key=True)
    school_code: str = Field(max_length=6, index=True)
    kind: PersonKind = Field(sa_column=enum_column(PersonKind, length=10))
    local_no: str = Field(max_length=32)
    name: str = Field(max_length=100)
    class_code: str | None = Field(default=None, max_length=20, index=True)
    seat_no: int | None = None
    status: str | None = Field(default=None, max_length=10)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


class KnownClass(SQLModel, table=True):
    """A class and its 導師, as identity last announced them."""

    __tablename__ = "known_class"

    school_code: str = Field(primary_key=True, max_length=6)
    class_code: str = Field(primary_key=True, max_length=20)
    grade: int | None = None
    homeroom_person_id: uuid.UUID | None = Field(default=None, index=True)


class KnownRoles(SQLModel, table=True):
    """A person's roles in a school, as identity last announced them (`grant.changed`)."""

    __tablename__ = "known_roles"

    school_code: str = Field(primary_key=True, max_length=6)
    person_id: uuid.UUID = Field(primary_key=True)
    roles: list[str] = Field(sa_column=sa.Column(sa.JSON(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_datetime_column())


async def get_person(
    session: AsyncSession, school_code: str, person_id: uuid.UUID
) -> KnownPerson | None:
    """One person of the school."""
    stmt = select(KnownPerson).where(
        KnownPerson.school_code == school_code, KnownPerson.id == person_id
    )
    return (await session.exec(stmt)).first()


async def people_by_ids(
    session: AsyncSession, school_code: str, ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, KnownPerson]:
    """The school's people with these ids, by id (unknown ids are left out)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    stmt = select(KnownPerson).where(
        KnownPerson.school_code == school_code, col(KnownPerson.id).in_(wanted)
    )
    return {p.id: p for p in (await session.exec(stmt)).all()}


async def local_numbers(
    session: AsyncSession, school_code: str, kind: PersonKind
) -> dict[str, uuid.UUID]:
    """學號 (or 教師編號) → person id for the school."""
    stmt = select(KnownPerson.local_no, KnownPerson.id).where(
        KnownPerson.school_code == school_code, KnownPerson.kind == kind
    )
    return {local_no: person_id for local_no, person_id in (await session.exec(stmt)).all()}


async def get_class(session: AsyncSession, school_code: str, class_code: str) -> KnownClass | None:
    """One class of the school."""
    stmt = select(KnownClass).where(
        KnownClass.school_code == school_code, KnownClass.class_code == class_code
    )
    return (await session.exec(stmt)).first()


async def homeroom_classes(
    session: AsyncSession, school_code: str, person_id: uuid.UUID
) -> list[str]:
    """Classes whose 導師 is this person."""
    stmt = select(KnownClass.class_code).where(
        KnownClass.school_code == school_code, KnownClass.homeroom_person_id == person_id
    )
    return list((await session.exec(stmt)).all())


async def visible_classes(
    session: AsyncSession, grant: Grant, *, school_wide: bool, class_code: str | None
) -> list[str] | None:
    """The class filter: school-wide readers get what they ask, a 導師 only their own classes."""
    wanted = [class_code] if class_code else None
    if school_wide:
        return wanted
    if grant.principal.person_id is None:  # the viewer dependency refuses this; never widen it
        return []
    mine = await homeroom_classes(session, grant.school_code, grant.principal.person_id)
    return [c for c in (wanted or mine) if c in mine]


async def get_roles(
    session: AsyncSession, school_code: str, person_id: uuid.UUID
) -> KnownRoles | None:
    """The person's roles in the school."""
    stmt = select(KnownRoles).where(
        KnownRoles.school_code == school_code, KnownRoles.person_id == person_id
    )
    return (await session.exec(stmt)).first()


# Query pieces for lists over the roster -------------------------------------------------------


def enrolled_students(school_code: str, class_codes: Sequence[str] | None = None) -> list[Any]:
    """WHERE clauses for the school's enrolled (在籍, 休學) students, optionally of some classes."""
    filters: list[Any] = [
        KnownPerson.school_code == school_code,
        KnownPerson.kind == PersonKind.STUDENT,
        col(KnownPerson.status).in_(ENROLLED),
    ]
    if class_codes is not None:
        filters.append(col(KnownPerson.class_code).in_(list(class_codes)))
    return filters


def student_class_join() -> Any:
    """The ON clause joining `KnownClass` to the class of each `KnownPerson` row."""
    return sa.and_(
        col(KnownClass.school_code) == col(KnownPerson.school_code),
        col(KnownClass.class_code) == col(KnownPerson.class_code),
    )


def classes_in_use(school_code: str, class_codes: Sequence[str] | None = None) -> Any:
    """Announced classes of the school and the classes its enrolled students are in (`codes`)."""
    announced: Any = select(col(KnownClass.class_code).label("class_code")).where(
        KnownClass.school_code == school_code
    )
    if class_codes is not None:
        announced = announced.where(col(KnownClass.class_code).in_(list(class_codes)))
    attended: Any = select(col(KnownPerson.class_code).label("class_code")).where(
        *enrolled_students(school_code, class_codes),
        col(KnownPerson.class_code).is_not(None),
    )
    return sa.union(announced, attended).subquery("codes")


def class_join(school_code: str, class_code: Any) -> Any:
    """The ON clause joining `KnownClass` to a column of the school's class codes."""
    return sa.and_(
        col(KnownClass.school_code) == school_code, col(KnownClass.class_code) == class_code
    )


def of_grade(grade: int | None) -> list[Any]:
    """WHERE clauses keeping the classes (joined `KnownClass`) of a grade; none without one."""
    return [] if grade is None else [KnownClass.grade == grade]


async def count_classes_in_use(
    session: AsyncSession, school_code: str, *, class_codes: Sequence[str] | None, grade: int | None
) -> int:
    """How many classes in use (`classes_in_use`) there are, optionally of a grade."""
    codes = classes_in_use(school_code, class_codes)
    stmt = (
        select(sa.func.count())
        .select_from(codes)
        .outerjoin(KnownClass, class_join(school_code, codes.c.class_code))
        .where(*of_grade(grade))
    )
    return int((await session.exec(stmt)).one())


def homeroom_teacher(school_code: str) -> tuple[Any, Any]:
    """A `homeroom` alias of `KnownPerson` and the ON clause joining it as `KnownClass`'s 導師."""
    homeroom: Any = aliased(KnownPerson, name="homeroom")
    join = sa.and_(
        homeroom.id == col(KnownClass.homeroom_person_id), homeroom.school_code == school_code
    )
    return homeroom, join


PersonHook = Callable[[AsyncSession, KnownPerson], Awaitable[None]]


async def _person_upserted(session: AsyncSession, event: Event[PersonUpserted]) -> KnownPerson:
    data = event.data
    person = await get_person(session, event.school_code, data.person_id)
    if person is None:
        person = KnownPerson(
            id=data.person_id,
            school_code=event.school_code,
            kind=PersonKind(data.kind),
            local_no=data.local_no,
            name=data.name,
        )
        session.add(person)
    person.name = data.name
    person.class_code = data.class_code
    person.seat_no = data.seat_no
    person.status = data.status
    person.updated_at = utcnow()
    await session.flush()
    return person


async def _class_upserted(session: AsyncSession, event: Event[ClassUpserted]) -> None:
    data = event.data
    known = await get_class(session, event.school_code, data.class_code)
    if known is None:
        known = KnownClass(school_code=event.school_code, class_code=data.class_code)
        session.add(known)
    known.grade = data.grade
    known.homeroom_person_id = data.homeroom_person_id


async def _grant_changed(session: AsyncSession, event: Event[GrantChanged]) -> None:
    data = event.data
    known = await get_roles(session, event.school_code, data.person_id)
    if known is None:
        known = KnownRoles(school_code=event.school_code, person_id=data.person_id, roles=[])
        session.add(known)
    known.roles = sorted(set(data.roles))
    known.updated_at = utcnow()


def roster_consumer(*, durable: str, on_person: PersonHook | None = None) -> ConsumerSpec:
    """The durable consumer of identity's people, classes and grants (exactly once each)."""

    async def person_upserted(session: AsyncSession, event: Event[PersonUpserted]) -> None:
        person = await _person_upserted(session, event)
        if on_person is not None:
            await on_person(session, person)

    return ConsumerSpec(
        durable=durable,
        stream=STREAMS["identity"].name,
        handlers={
            PersonUpserted: person_upserted,
            ClassUpserted: _class_upserted,
            GrantChanged: _grant_changed,
        },
    )
