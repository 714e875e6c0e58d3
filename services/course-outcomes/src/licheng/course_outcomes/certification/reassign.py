"""更換認證教師: course staff move an outcome, or a whole section, to another teacher."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import OutcomeReassigned
from licheng.course_outcomes.courses import repository as courses
from licheng.course_outcomes.locks.service import ensure_unlocked
from licheng.course_outcomes.models import KnownPerson, Outcome, OutcomeStatus, PersonKind
from licheng.course_outcomes.outcomes import repository
from licheng.course_outcomes.outcomes.service import STATE_CONFLICT, record_outcome_change
from licheng.course_outcomes.roster import repository as roster
from licheng.kit.changes import record_change
from licheng.kit.errors import Conflict, NotFound

UNDECIDED = (OutcomeStatus.DRAFT, OutcomeStatus.SUBMITTED, OutcomeStatus.FAILED)


async def _teacher(session: AsyncSession, school_code: str, teacher_id: uuid.UUID) -> KnownPerson:
    person = await roster.get_person(session, school_code, teacher_id)
    if person is None or person.kind != PersonKind.STAFF:
        raise NotFound("找不到此教師", code="teacher_not_found")
    return person


async def reassign_outcome(
    session: AsyncSession, *, outcome: Outcome, teacher_id: uuid.UUID, actor_id: uuid.UUID | None
) -> Outcome:
    """One outcome goes to another certifying teacher (not once it is certified)."""
    await ensure_unlocked(session, outcome.school_code, outcome.academic_year, outcome.semester)
    await _teacher(session, outcome.school_code, teacher_id)
    before = {"certifier_id": str(outcome.certifier_id) if outcome.certifier_id else None}
    if not await repository.transition(
        session, outcome, allowed_from=UNDECIDED, values={"certifier_id": teacher_id}
    ):
        raise Conflict(STATE_CONFLICT, code="state_conflict")
    await record_outcome_change(
        session, outcome, event=OutcomeReassigned, actor_id=actor_id, before=before
    )
    return outcome


async def reassign_section(
    session: AsyncSession,
    *,
    school_code: str,
    section_id: uuid.UUID,
    teacher_id: uuid.UUID,
    actor_id: uuid.UUID | None,
) -> int:
    """A whole section, and its undecided outcomes, go to another certifying teacher."""
    section = await courses.get_section(session, school_code, section_id)
    if section is None:
        raise NotFound("找不到此課程", code="section_not_found")
    await ensure_unlocked(session, school_code, section.academic_year, section.semester)
    await _teacher(session, school_code, teacher_id)
    previous = section.certifier_id
    section.certifier_id = teacher_id
    await session.flush()
    record_change(
        session,
        school_code=school_code,
        actor_id=actor_id,
        entity="section",
        entity_id=section.id,
        action="section.reassigned",
        before={"certifier_id": str(previous) if previous else None},
        after={"certifier_id": str(teacher_id)},
    )
    moved = 0
    for outcome in await repository.section_outcomes(session, school_code, section.id, UNDECIDED):
        await reassign_outcome(session, outcome=outcome, teacher_id=teacher_id, actor_id=actor_id)
        moved += 1
    return moved
