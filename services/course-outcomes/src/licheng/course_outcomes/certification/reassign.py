"""更換認證教師: course staff move an outcome, or a whole section, to another teacher.

Only to a teacher who certifies in their own right (`eligibility.certifier_target`), so an
outcome is never left with a certifier nobody can act as; a certified outcome stays certified.
"""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import OutcomeReassigned
from licheng.course_outcomes.certification.eligibility import certifier_target
from licheng.course_outcomes.courses import repository as courses
from licheng.course_outcomes.locks.service import ensure_unlocked
from licheng.course_outcomes.models import Outcome, OutcomeStatus
from licheng.course_outcomes.outcomes import repository
from licheng.course_outcomes.outcomes.service import STATE_CONFLICT, record_outcome_change
from licheng.kit.changes import record_change
from licheng.kit.errors import Conflict, NotFound

UNDECIDED = (OutcomeStatus.DRAFT, OutcomeStatus.SUBMITTED, OutcomeStatus.FAILED)


async def reassign_outcome(
    session: AsyncSession, *, outcome: Outcome, teacher_id: uuid.UUID, actor_id: uuid.UUID | None
) -> Outcome:
    """One undecided outcome goes to another teacher who certifies in their own right."""
    await ensure_unlocked(session, outcome.school_code, outcome.academic_year, outcome.semester)
    await certifier_target(session, outcome.school_code, teacher_id)
    if outcome.status == OutcomeStatus.CERTIFIED:
        raise Conflict(
            "此成果已認證成功，認證結果維持不變，不能更換認證教師；"
            "如需由其他教師重新認證，請原認證教師先取消認證",
            code="outcome_already_certified",
        )
    if outcome.certifier_id == teacher_id:
        return outcome
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
    await certifier_target(session, school_code, teacher_id)
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
