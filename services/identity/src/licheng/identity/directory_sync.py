"""Keeps Keycloak's users and groups in step with identity, driven by identity's own events.

A person, grant or class event triggers a reconcile of the people it names, read from the
database as they are now, so events arriving late or twice still end in the right state. While
Keycloak is down the messages are retried with backoff and nothing is lost; they catch up when
it returns. A request Keycloak refuses outright is dead-lettered for a person to look at.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import (
    STREAMS,
    ClassUpserted,
    Event,
    GrantChanged,
    PersonUpserted,
)
from licheng.contracts.people import ACTIVE_STATUSES
from licheng.identity.grants.roles import effective_roles, group_paths
from licheng.identity.keycloak import DirectoryUser, KeycloakDirectory
from licheng.identity.models import PersonKind
from licheng.identity.people import repository
from licheng.kit.inbox import ConsumerSpec

log = structlog.get_logger("licheng.identity.directory_sync")
DURABLE = "identity-directory-sync"


def _people_named(data: PersonUpserted | GrantChanged | ClassUpserted) -> list[uuid.UUID]:
    if isinstance(data, ClassUpserted):
        named = [data.homeroom_person_id, data.previous_homeroom_person_id]
        return [person_id for person_id in named if person_id is not None]
    return [data.person_id]


def directory_sync_consumer(directory: KeycloakDirectory) -> ConsumerSpec:
    """The durable consumer that reconciles Keycloak."""

    async def reconcile(session: AsyncSession, event: Event[Any]) -> None:
        for person_id in _people_named(event.data):
            person = await repository.get_person(session, event.school_code, person_id)
            if person is None:
                continue
            roles = await effective_roles(session, person)
            user = DirectoryUser(
                person_id=person.id,
                username=person.username,
                display_name=person.name,
                email=person.email,
                # 畢業 and 轉出 students no longer sign in to the school's system.
                enabled=person.kind == PersonKind.STAFF or person.status in ACTIVE_STATUSES,
                groups=group_paths(person.school_code, roles),
            )
            # DirectoryRejected is a PoisonMessage: dead-lettered at once, never retried.
            await directory.apply(user)
            log.info("directory.synced", person_id=str(person.id), groups=len(user.groups))

    return ConsumerSpec(
        durable=DURABLE,
        stream=STREAMS["identity"].name,
        handlers={PersonUpserted: reconcile, GrantChanged: reconcile, ClassUpserted: reconcile},
        # Keycloak may be away for a while: keep retrying (up to ~a week) rather than give up.
        max_deliver=10_000,
        backoff_seconds=(1.0, 2.0, 5.0, 15.0, 30.0, 60.0),
    )
