"""Who may certify course outcomes: the rule, in one place.

A person certifies in a school when
- identity grants them 授課教師 (in their token, or as last announced in `known_roles`), or
- the school's 修課紀錄 names them as a section's 授課教師 (derived: no manual grant needed), or
- a teacher named them 代理人 for a range that includes now: they then act for that teacher.

Reassignment (更換認證教師) is allowed only to someone who certifies in their own right, so an
outcome can never be left with a certifier nobody can act as.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.permissions import Role
from licheng.course_outcomes.certification import repository
from licheng.course_outcomes.models import KnownPerson, PersonKind
from licheng.course_outcomes.roster import repository as roster
from licheng.kit.errors import Conflict, NotFound
from licheng.kit.timeutil import utcnow


@dataclass(frozen=True)
class CertifierReach:
    """Whose queues a person works on now: their own (if they certify) and their delegators'."""

    person_id: uuid.UUID
    own_right: bool
    delegators: frozenset[uuid.UUID]

    @property
    def acting_for(self) -> frozenset[uuid.UUID]:
        """Every certifier id whose outcomes this person may decide."""
        return self.delegators | ({self.person_id} if self.own_right else frozenset())

    @property
    def any(self) -> bool:
        """True when the person may certify anything at all."""
        return bool(self.acting_for)


async def certifies_in_own_right(
    session: AsyncSession,
    school_code: str,
    person_id: uuid.UUID,
    *,
    token_roles: frozenset[Role] = frozenset(),
) -> bool:
    """True when the person is a 授課教師 by grant or by the 修課紀錄."""
    if Role.COURSE_TEACHER in token_roles:
        return True
    known = await roster.get_roles(session, school_code, person_id)
    if known is not None and Role.COURSE_TEACHER.value in known.roles:
        return True
    return await repository.teaches_a_section(session, school_code, person_id)


async def reach_of(
    session: AsyncSession,
    school_code: str,
    person_id: uuid.UUID,
    *,
    token_roles: frozenset[Role] = frozenset(),
    now: datetime | None = None,
) -> CertifierReach:
    """The person's certifying reach in the school at `now`."""
    own = await certifies_in_own_right(session, school_code, person_id, token_roles=token_roles)
    delegators = await repository.delegators_of(session, school_code, person_id, now or utcnow())
    return CertifierReach(person_id, own, frozenset(delegators))


async def certifier_target(
    session: AsyncSession, school_code: str, teacher_id: uuid.UUID
) -> KnownPerson:
    """The staff member an outcome may be reassigned to; 404 or 409 saying why not."""
    person = await roster.get_person(session, school_code, teacher_id)
    if person is None or person.kind != PersonKind.STAFF:
        raise NotFound("找不到此教師", code="teacher_not_found")
    if not await certifies_in_own_right(session, school_code, teacher_id):
        raise Conflict(
            f"{person.name}（{person.local_no}）不是授課教師，也未在修課紀錄中擔任授課教師，"
            "無法認證課程學習成果；請改選授課教師，或請系統管理者先授予「授課教師」角色",
            code="not_a_certifier",
            detail={"teacher_id": str(teacher_id)},
        )
    return person
