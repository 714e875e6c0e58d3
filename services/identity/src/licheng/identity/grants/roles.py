"""A person's effective roles: explicit grants, enrolment and homeroom assignments.

Students hold `student` by enrolment (在籍 or 休學), a class's 導師 holds `homeroom_teacher`,
and everything else comes from the admin's grants. Both the Keycloak sync and the development
issuer use this, so tokens from either carry the same groups.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.people import ACTIVE_STATUSES
from licheng.contracts.permissions import Role
from licheng.identity.grants import repository as grants
from licheng.identity.models import Person, PersonKind
from licheng.identity.people import repository as people

ACTIVE_STUDENT = ACTIVE_STATUSES


async def effective_roles(session: AsyncSession, person: Person) -> frozenset[Role]:
    """Every role the person holds in their school."""
    roles = {Role(r) for r in await grants.roles_of(session, person.school_code, person.id)}
    if person.kind == PersonKind.STUDENT:
        roles.discard(Role.STUDENT)
        if person.status in ACTIVE_STUDENT:
            roles.add(Role.STUDENT)
    elif await people.homeroom_class_codes(session, person.school_code, person.id):
        roles.add(Role.HOMEROOM_TEACHER)
    return frozenset(roles)


def group_paths(school_code: str, roles: frozenset[Role]) -> frozenset[str]:
    """Keycloak group paths for roles in a school."""
    return frozenset(f"/schools/{school_code}/{role.value}" for role in roles)
