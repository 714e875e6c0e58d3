"""Consumes identity's person and class events into the read model, exactly once each."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import STREAMS, EventEnvelope, EventType, subject_filter
from licheng.course_outcomes.models import KnownClass, KnownPerson, PersonKind
from licheng.course_outcomes.roster import repository
from licheng.kit.inbox import ConsumerSpec
from licheng.kit.timeutil import utcnow

DURABLE = "course-outcomes-roster"


async def _person_upserted(session: AsyncSession, envelope: EventEnvelope) -> None:
    data = envelope.data
    person_id = uuid.UUID(str(data["person_id"]))
    person = await session.get(KnownPerson, person_id)
    if person is None:
        person = KnownPerson(
            id=person_id,
            school_code=envelope.school_code,
            kind=PersonKind(data["kind"]),
            local_no=str(data["local_no"]),
            name=str(data["name"]),
        )
        session.add(person)
    person.name = str(data["name"])
    person.class_code = data.get("class_code")
    person.status = data.get("status")
    person.updated_at = utcnow()
    await session.flush()
    if person.kind == PersonKind.STAFF:
        await repository.link_teacher(session, person)
    else:
        await repository.link_student(session, person)


async def _class_upserted(session: AsyncSession, envelope: EventEnvelope) -> None:
    data = envelope.data
    known = await repository.get_class(session, envelope.school_code, str(data["class_code"]))
    if known is None:
        known = KnownClass(school_code=envelope.school_code, class_code=str(data["class_code"]))
        session.add(known)
    known.grade = data.get("grade")
    homeroom = data.get("homeroom_person_id")
    known.homeroom_person_id = uuid.UUID(str(homeroom)) if homeroom else None


async def apply_identity_event(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Apply one identity event to the read model."""
    if envelope.type == EventType.PERSON_UPSERTED:
        await _person_upserted(session, envelope)
    elif envelope.type == EventType.CLASS_UPSERTED:
        await _class_upserted(session, envelope)


def roster_consumer() -> ConsumerSpec:
    """The durable consumer of identity's people and classes."""
    return ConsumerSpec(
        durable=DURABLE,
        stream=STREAMS["identity"].name,
        filter_subjects=[
            subject_filter("identity", "person", "upserted"),
            subject_filter("identity", "class", "upserted"),
        ],
        handler=apply_identity_event,
    )
