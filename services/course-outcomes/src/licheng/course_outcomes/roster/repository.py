"""Every query on the identity read model."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.models import (
    CourseSection,
    Enrolment,
    KnownClass,
    KnownPerson,
    KnownRoles,
    PersonKind,
)


async def local_numbers(
    session: AsyncSession, school_code: str, kind: PersonKind
) -> dict[str, uuid.UUID]:
    """學號 (or 教師編號) → person id for the school."""
    stmt = select(KnownPerson.local_no, KnownPerson.id).where(
        KnownPerson.school_code == school_code, KnownPerson.kind == kind
    )
    return {local_no: person_id for local_no, person_id in (await session.exec(stmt)).all()}


async def get_person(
    session: AsyncSession, school_code: str, person_id: uuid.UUID
) -> KnownPerson | None:
    """One person of the school, as identity last announced them."""
    stmt = select(KnownPerson).where(
        KnownPerson.school_code == school_code, KnownPerson.id == person_id
    )
    return (await session.exec(stmt)).first()


async def get_roles(
    session: AsyncSession, school_code: str, person_id: uuid.UUID
) -> KnownRoles | None:
    """The person's roles in the school, as identity last announced them."""
    stmt = select(KnownRoles).where(
        KnownRoles.school_code == school_code, KnownRoles.person_id == person_id
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


async def link_teacher(session: AsyncSession, person: KnownPerson) -> None:
    """Give sections imported before identity announced this teacher their teacher id."""
    stmt = select(CourseSection).where(
        CourseSection.school_code == person.school_code,
        CourseSection.teacher_no == person.local_no,
        col(CourseSection.teacher_id).is_(None),
    )
    for section in (await session.exec(stmt)).all():
        section.teacher_id = person.id
        section.certifier_id = section.certifier_id or person.id


async def link_student(session: AsyncSession, person: KnownPerson) -> None:
    """Give enrolments imported before identity announced this student their student id."""
    stmt = select(Enrolment).where(
        Enrolment.school_code == person.school_code,
        Enrolment.student_no == person.local_no,
        col(Enrolment.student_id).is_(None),
    )
    for enrolment in (await session.exec(stmt)).all():
        enrolment.student_id = person.id
