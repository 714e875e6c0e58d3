"""Consumes identity's person, class and grant events into the read model, exactly once each."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import STREAMS, ClassUpserted, Event, GrantChanged, PersonUpserted
from licheng.course_outcomes.models import KnownClass, KnownPerson, KnownRoles, PersonKind
from licheng.course_outcomes.roster import repository
from licheng.kit.inbox import ConsumerSpec
from licheng.kit.timeutil import utcnow

DURABLE = "course-outcomes-roster"


async def on_person_upserted(session: AsyncSession, event: Event[PersonUpserted]) -> None:
    """Keep the person as identity announced them; link sections and enrolments to them."""
    data = event.data
    person = await repository.get_person(session, event.school_code, data.person_id)
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
    if person.kind == PersonKind.STAFF:
        await repository.link_teacher(session, person)
    else:
        await repository.link_student(session, person)


async def on_class_upserted(session: AsyncSession, event: Event[ClassUpserted]) -> None:
    """Keep the class and its 導師."""
    data = event.data
    known = await repository.get_class(session, event.school_code, data.class_code)
    if known is None:
        known = KnownClass(school_code=event.school_code, class_code=data.class_code)
        session.add(known)
    known.grade = data.grade
    known.homeroom_person_id = data.homeroom_person_id


async def on_grant_changed(session: AsyncSession, event: Event[GrantChanged]) -> None:
    """Keep the person's roles in the school (who may be made a certifying teacher)."""
    data = event.data
    known = await repository.get_roles(session, event.school_code, data.person_id)
    if known is None:
        known = KnownRoles(school_code=event.school_code, person_id=data.person_id, roles=[])
        session.add(known)
    known.roles = sorted(set(data.roles))
    known.updated_at = utcnow()


def roster_consumer() -> ConsumerSpec:
    """The durable consumer of identity's people and classes."""
    return ConsumerSpec(
        durable=DURABLE,
        stream=STREAMS["identity"].name,
        handlers={
            PersonUpserted: on_person_upserted,
            ClassUpserted: on_class_upserted,
            GrantChanged: on_grant_changed,
        },
    )
