"""Locking a 名冊 when exports asks, refusing edits while locked, and the audited reopen.

名冊 25 (學生自填多元表現) is yearly: its lock has semester 0 and covers the whole academic year's
records and selections. 名冊 24 (校內幹部經歷) is per semester: its lock covers that semester's
cadre records.
"""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import PerformancesRosterLocked, PerformancesRosterReopened
from licheng.contracts.rosters import ROSTER_TITLES, RosterCode
from licheng.kit.changes import record_change
from licheng.kit.errors import Locked, NotFound
from licheng.kit.locks import hold_open, record_lock
from licheng.kit.timeutil import utcnow
from licheng.performances.locks import repository
from licheng.performances.models import RosterLock

YEARLY = 0  # the semester of a yearly 名冊's lock


def _where(roster_code: str, academic_year: int, semester: int) -> str:
    term = f"{academic_year} 學年度" + (f"第 {semester} 學期" if semester else "")
    return f"{term}的{ROSTER_TITLES.get(RosterCode(roster_code), roster_code)}"


async def ensure_unlocked(
    session: AsyncSession,
    school_code: str,
    roster_code: str,
    academic_year: int,
    semester: int = YEARLY,
) -> None:
    """423 naming the submission when the 名冊 is locked; otherwise it stays unlocked until
    this transaction ends."""
    await hold_open(
        session,
        school_code=school_code,
        entity="roster",
        entity_id=f"{roster_code}-{academic_year}-{semester}",
    )
    lock = await repository.roster_lock(session, school_code, roster_code, academic_year, semester)
    if lock is not None and lock.locked:
        raise Locked(
            f"{_where(roster_code, academic_year, semester)}已提交（提交編號 "
            f"{lock.submission_id}），已鎖定無法修改",
            code="roster_locked",
            detail={
                "submission_id": str(lock.submission_id),
                "roster_code": roster_code,
                "academic_year": academic_year,
                "semester": semester,
            },
        )


async def lock_roster(
    session: AsyncSession,
    *,
    school_code: str,
    roster_code: str,
    academic_year: int,
    semester: int,
    submission_id: uuid.UUID,
    actor_id: uuid.UUID | None,
) -> RosterLock:
    """Lock (or re-lock) a 名冊 and answer `roster.locked` with our high-water mark."""
    if roster_code == RosterCode.PERFORMANCES:
        semester = YEARLY
    lock = await repository.roster_lock(session, school_code, roster_code, academic_year, semester)
    if lock is None:
        lock = RosterLock(
            school_code=school_code,
            roster_code=roster_code,
            academic_year=academic_year,
            semester=semester,
            submission_id=submission_id,
        )
        session.add(lock)
    lock.locked, lock.submission_id, lock.locked_at = True, submission_id, utcnow()
    await record_lock(
        session,
        school_code=school_code,
        actor_id=actor_id,
        entity="roster",
        entity_id=f"{roster_code}-{academic_year}-{semester}",
        submission_id=submission_id,
        event=lambda mark: PerformancesRosterLocked(
            submission_id=submission_id,
            roster_code=roster_code,
            academic_year=academic_year,
            semester=semester,
            high_water_mark=mark,
        ),
    )
    return lock


async def reopen_roster(
    session: AsyncSession,
    *,
    school_code: str,
    roster_code: str,
    academic_year: int,
    semester: int,
    reason: str,
    actor_id: uuid.UUID | None,
) -> RosterLock:
    """The admin reopens a locked 名冊 with a reason; audited and announced."""
    lock = await repository.roster_lock(session, school_code, roster_code, academic_year, semester)
    if lock is None or not lock.locked:
        raise NotFound(f"{_where(roster_code, academic_year, semester)}目前沒有鎖定",
                       code="roster_not_locked")  # fmt: skip
    lock.locked, lock.reopened_at, lock.reopened_by = False, utcnow(), actor_id
    lock.reopen_reason = reason
    await session.flush()
    record_change(
        session,
        school_code=school_code,
        actor_id=actor_id,
        entity="roster",
        entity_id=f"{roster_code}-{academic_year}-{semester}",
        event=PerformancesRosterReopened(
            submission_id=lock.submission_id,
            roster_code=roster_code,
            academic_year=academic_year,
            semester=semester,
        ),
        before={"submission_id": str(lock.submission_id)},
        after={"reason": reason},
    )
    return lock
