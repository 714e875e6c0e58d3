"""Consumes identity's person, class and grant events into the kit's read model, exactly once
each; a person's arrival links the 修課紀錄 rows imported before identity announced them."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.roster import repository
from licheng.kit.inbox import ConsumerSpec
from licheng.kit.roster import KnownPerson, PersonKind
from licheng.kit.roster import roster_consumer as kit_roster_consumer

DURABLE = "course-outcomes-roster"


async def link_person(session: AsyncSession, person: KnownPerson) -> None:
    """Give sections and enrolments imported before identity announced the person their id."""
    if person.kind == PersonKind.STAFF:
        await repository.link_teacher(session, person)
    else:
        await repository.link_student(session, person)


def roster_consumer() -> ConsumerSpec:
    """The durable consumer of identity's people, classes and grants."""
    return kit_roster_consumer(durable=DURABLE, on_person=link_person)
