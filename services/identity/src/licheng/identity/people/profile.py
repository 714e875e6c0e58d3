"""學生資料維護: a student keeps their own contact fields current."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.identity.models import Person
from licheng.identity.people import repository
from licheng.identity.people.imports import person_event
from licheng.identity.people.schemas import ProfileUpdate
from licheng.kit.changes import record_change
from licheng.kit.errors import NotFound
from licheng.kit.permissions import Grant
from licheng.kit.timeutil import utcnow

CONTACT_FIELDS = ("email", "phone", "address")


async def own_record(session: AsyncSession, *, grant: Grant) -> Person:
    """The caller's own person record in the grant's school."""
    person_id = grant.principal.person_id
    person = (
        await repository.get_person(session, grant.school_code, person_id) if person_id else None
    )
    if person is None:
        raise NotFound("找不到您的學生資料", code="person_not_found")
    return person


async def update_contact(session: AsyncSession, *, grant: Grant, update: ProfileUpdate) -> Person:
    """Apply the fields the student sent; audited."""
    person = await own_record(session, grant=grant)
    changes = update.model_dump(exclude_unset=True)
    before = {f: getattr(person, f) for f in CONTACT_FIELDS if f in changes}
    if not changes or all(getattr(person, f) == v for f, v in changes.items()):
        return person
    for field, value in changes.items():
        setattr(person, field, value)
    person.updated_at = utcnow()
    await session.flush()
    # Announced like any change of a person, so the Keycloak sync picks up a new e-mail.
    record_change(
        session,
        school_code=person.school_code,
        actor_id=person.id,
        entity="person",
        entity_id=person.id,
        event=person_event(person),
        action="profile.updated",
        before=before,
        after=changes,
    )
    return person
