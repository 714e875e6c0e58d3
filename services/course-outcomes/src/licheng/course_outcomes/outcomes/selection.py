"""勾選: inside its window, a student picks at most N certified outcomes per semester for the
central database."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import OutcomeSelectionChanged
from licheng.course_outcomes.locks.service import ensure_unlocked
from licheng.course_outcomes.models import Outcome, OutcomeStatus
from licheng.course_outcomes.outcomes import repository
from licheng.course_outcomes.outcomes.schemas import SelectionUpdate
from licheng.course_outcomes.outcomes.service import STATE_CONFLICT, record_outcome_change
from licheng.course_outcomes.parameters import service as parameters
from licheng.kit.errors import Conflict, NotFound, QuotaExceeded


async def set_selection(
    session: AsyncSession, *, school_code: str, student_id: uuid.UUID, payload: SelectionUpdate
) -> list[Outcome]:
    """Make exactly `payload.outcome_ids` the selected outcomes of the term, in the 勾選 window."""
    year, semester = payload.academic_year, payload.semester
    await ensure_unlocked(session, school_code, year, semester)
    rules = await parameters.get(session, school_code, year, semester)
    parameters.check_window(rules.select_from, rules.select_until, what="學生勾選")
    wanted = set(payload.outcome_ids)
    cap = rules.selections_per_semester
    if len(wanted) > cap:
        raise QuotaExceeded(
            f"每學期最多勾選 {cap} 件課程學習成果，您選了 {len(wanted)} 件",
            detail={"limit": cap, "selected": len(wanted)},
        )
    outcomes = await repository.list_for_student(session, school_code, student_id, year, semester)
    by_id = {o.id: o for o in outcomes}
    missing = wanted - by_id.keys()
    if missing:
        raise NotFound(
            "找不到部分勾選的課程學習成果",
            code="outcome_not_found",
            detail={"outcome_ids": sorted(str(i) for i in missing)},
        )
    uncertified = [str(i) for i in wanted if by_id[i].status != OutcomeStatus.CERTIFIED]
    if uncertified:
        raise Conflict(
            "只能勾選已認證成功的課程學習成果",
            code="not_selectable",
            detail={"outcome_ids": sorted(uncertified)},
        )
    for outcome in outcomes:
        choose = outcome.id in wanted
        if outcome.selected == choose:
            continue
        before = {"selected": outcome.selected}
        allowed = {OutcomeStatus.CERTIFIED} if choose else set(OutcomeStatus)
        if not await repository.transition(
            session, outcome, allowed_from=allowed, values={"selected": choose}
        ):
            raise Conflict(STATE_CONFLICT, code="state_conflict")
        await record_outcome_change(
            session,
            outcome,
            event=OutcomeSelectionChanged,
            actor_id=student_id,
            before=before,
        )
    return [o for o in outcomes if o.selected]
