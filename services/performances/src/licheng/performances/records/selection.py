"""勾選: inside its window, a student picks at most N of their own records per academic year for
名冊 25. 校內幹部 records (名冊 24) live in their own table and never count."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import PerformanceSelectionChanged
from licheng.contracts.rosters import RosterCode
from licheng.kit.errors import NotFound, QuotaExceeded
from licheng.kit.timeutil import utcnow
from licheng.performances.locks.service import ensure_unlocked
from licheng.performances.models import Performance, PerformanceParameters
from licheng.performances.parameters import service as parameters
from licheng.performances.records import repository
from licheng.performances.records.changes import record_performance_change, snapshot
from licheng.performances.records.schemas import SelectionUpdate

SELECT = "學生勾選多元表現"


def over_quota(cap: int, chosen: int) -> QuotaExceeded:
    """The refusal of a selection over the year's cap, naming the cap and the count."""
    return QuotaExceeded(
        f"每學年最多勾選 {cap} 項多元表現，您選了 {chosen} 項",
        detail={"limit": cap, "selected": chosen},
    )


async def set_selection(
    session: AsyncSession, *, school_code: str, student_id: uuid.UUID, payload: SelectionUpdate
) -> tuple[list[Performance], PerformanceParameters]:
    """Make exactly `payload.performance_ids` the student's selected records of the year, in
    the 勾選 window; the selected records and the year's parameters."""
    year = payload.academic_year
    await ensure_unlocked(session, school_code, RosterCode.PERFORMANCES, year)
    rules = await parameters.get(session, school_code, year)
    parameters.check_window(rules.select_from, rules.select_until, what=SELECT)
    wanted = list(dict.fromkeys(payload.performance_ids))
    if len(wanted) > rules.selections_per_year:
        raise over_quota(rules.selections_per_year, len(wanted))
    records = await repository.lock_student_year(session, school_code, student_id, year)
    by_id = {r.id: r for r in records}
    missing = [str(i) for i in wanted if i not in by_id]
    if missing:
        raise NotFound(
            f"找不到部分勾選的多元表現紀錄（須為您自己 {year} 學年度的紀錄）",
            code="performance_not_found",
            detail={"performance_ids": missing},
        )
    chosen = set(wanted)
    for record in records:
        choose = record.id in chosen
        if record.selected == choose:
            continue
        before = snapshot(record)
        record.selected, record.updated_at = choose, utcnow()
        await session.flush()  # a conditional UPDATE on the version: a concurrent edit is a 409
        await record_performance_change(
            session,
            record,
            event=PerformanceSelectionChanged,
            actor_id=student_id,
            before=before,
        )
    return [r for r in records if r.selected], rules


async def current_selection(
    session: AsyncSession, *, school_code: str, student_id: uuid.UUID, academic_year: int
) -> tuple[list[Performance], PerformanceParameters]:
    """The student's selected records of the year and the year's parameters."""
    rules = await parameters.get(session, school_code, academic_year)
    selected, _ = await repository.student_records(
        session, school_code, student_id, academic_year=academic_year, selected=True
    )
    return selected, rules
