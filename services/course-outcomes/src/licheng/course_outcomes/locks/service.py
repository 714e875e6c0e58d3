"""Locking a term when exports asks, refusing edits while locked, and the audited reopen."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import OutcomesTermLocked, OutcomesTermReopened
from licheng.course_outcomes.locks import repository
from licheng.course_outcomes.models import TermLock
from licheng.kit.changes import record_change
from licheng.kit.errors import Locked, NotFound
from licheng.kit.locks import hold_open, record_lock
from licheng.kit.timeutil import utcnow


async def ensure_unlocked(
    session: AsyncSession, school_code: str, academic_year: int, semester: int
) -> None:
    """423 naming the submission when the term is locked; otherwise the term stays unlocked
    until this transaction ends."""
    await hold_open(
        session, school_code=school_code, entity="term", entity_id=f"{academic_year}-{semester}"
    )
    lock = await repository.term_lock(session, school_code, academic_year, semester)
    if lock is not None and lock.locked:
        raise Locked(
            f"{academic_year} 學年度第 {semester} 學期的課程學習成果已提交（提交編號 "
            f"{lock.submission_id}），已鎖定無法修改",
            code="term_locked",
            detail={
                "submission_id": str(lock.submission_id),
                "academic_year": academic_year,
                "semester": semester,
            },
        )


async def lock_term(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    submission_id: uuid.UUID,
    actor_id: uuid.UUID | None,
) -> TermLock:
    """Lock (or re-lock) a term and answer `term.locked` with our high-water mark."""
    lock = await repository.term_lock(session, school_code, academic_year, semester)
    if lock is None:
        lock = TermLock(
            school_code=school_code,
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
        entity="term",
        entity_id=f"{academic_year}-{semester}",
        submission_id=submission_id,
        event=lambda mark: OutcomesTermLocked(
            submission_id=submission_id,
            academic_year=academic_year,
            semester=semester,
            high_water_mark=mark,
        ),
    )
    return lock


async def reopen_term(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    actor_id: uuid.UUID | None,
) -> TermLock:
    """The admin reopens a locked term; audited and announced."""
    lock = await repository.term_lock(session, school_code, academic_year, semester)
    if lock is None or not lock.locked:
        raise NotFound("此學期目前沒有鎖定", code="term_not_locked")
    lock.locked, lock.reopened_at, lock.reopened_by = False, utcnow(), actor_id
    await session.flush()
    record_change(
        session,
        school_code=school_code,
        actor_id=actor_id,
        entity="term",
        entity_id=f"{academic_year}-{semester}",
        event=OutcomesTermReopened(
            submission_id=lock.submission_id, academic_year=academic_year, semester=semester
        ),
        before={"submission_id": str(lock.submission_id)},
    )
    return lock
