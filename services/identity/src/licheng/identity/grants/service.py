"""Granting and revoking roles; every change is audited and announced."""

from __future__ import annotations

import uuid
from typing import Literal

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import GrantChanged
from licheng.contracts.permissions import ROLE_TITLES, Role
from licheng.identity.grants import repository
from licheng.identity.grants.roles import effective_roles
from licheng.identity.models import Person, PersonKind, RoleGrant
from licheng.identity.people import repository as people
from licheng.kit.changes import record_change
from licheng.kit.errors import BadRequest, NotFound

# Roles that come from data, not from a grant.
DERIVED_ROLES = frozenset({Role.STUDENT, Role.HOMEROOM_TEACHER})


async def _staff(session: AsyncSession, school_code: str, person_id: uuid.UUID) -> Person:
    person = await people.get_person(session, school_code, person_id)
    if person is None or person.kind != PersonKind.STAFF:
        raise NotFound("找不到此教職員", code="staff_not_found")
    return person


def _check_grantable(role: Role) -> None:
    if role in DERIVED_ROLES:
        raise BadRequest(
            f"「{ROLE_TITLES[role]}」由學籍與班級資料決定，無法直接授予",
            code="role_not_grantable",
        )


async def _announce(
    session: AsyncSession,
    *,
    person: Person,
    role: Role,
    change: Literal["granted", "revoked"],
    actor_id: uuid.UUID | None,
) -> None:
    roles = sorted(await effective_roles(session, person))
    record_change(
        session,
        school_code=person.school_code,
        actor_id=actor_id,
        entity="person",
        entity_id=person.id,
        event=GrantChanged(person_id=person.id, role=role.value, change=change, roles=roles),
        action=f"grant.{change}",
        after={"role": role.value, "roles": roles},
    )


async def grant(
    session: AsyncSession,
    *,
    school_code: str,
    person_id: uuid.UUID,
    role: Role,
    actor_id: uuid.UUID | None,
) -> bool:
    """Grant a role; False when it was already held (nothing changes)."""
    _check_grantable(role)
    person = await _staff(session, school_code, person_id)
    if await repository.find(session, school_code, person_id, role.value):
        return False
    session.add(
        RoleGrant(
            school_code=school_code, person_id=person_id, role=role.value, granted_by=actor_id
        )
    )
    await session.flush()
    await _announce(session, person=person, role=role, change="granted", actor_id=actor_id)
    return True


async def revoke(
    session: AsyncSession,
    *,
    school_code: str,
    person_id: uuid.UUID,
    role: Role,
    actor_id: uuid.UUID | None,
) -> bool:
    """Revoke a role; False when it was not held."""
    _check_grantable(role)
    person = await _staff(session, school_code, person_id)
    existing = await repository.find(session, school_code, person_id, role.value)
    if existing is None:
        return False
    await session.delete(existing)
    await session.flush()
    await _announce(session, person=person, role=role, change="revoked", actor_id=actor_id)
    return True
