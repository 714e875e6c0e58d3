"""Queries and conditional writes of submissions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.exports.models import Submission, SubmissionState

IN_FLIGHT = (SubmissionState.REQUESTED, SubmissionState.BUILDING)


async def get_submission(session: AsyncSession, submission_id: uuid.UUID) -> Submission | None:
    """One submission."""
    return await session.get(Submission, submission_id)


async def term_submissions(
    session: AsyncSession,
    *,
    school_code: str,
    roster_codes: list[str],
    roster_code: str | None = None,
    academic_year: int | None = None,
    semester: int | None = None,
    limit: int = 50,
) -> list[Submission]:
    """The history of submissions, newest first, of the rosters the caller may see."""
    stmt = select(Submission).where(
        Submission.school_code == school_code, col(Submission.roster_code).in_(roster_codes)
    )
    if roster_code is not None:
        stmt = stmt.where(Submission.roster_code == roster_code)
    if academic_year is not None:
        stmt = stmt.where(Submission.academic_year == academic_year)
    if semester is not None:
        stmt = stmt.where(Submission.semester == semester)
    stmt = stmt.order_by(col(Submission.requested_at).desc()).limit(limit)
    return list((await session.exec(stmt)).all())


async def latest_for_term(
    session: AsyncSession, *, school_code: str, roster_code: str, academic_year: int, semester: int
) -> Submission | None:
    """The newest submission of one 名冊 and term."""
    rows = await term_submissions(
        session,
        school_code=school_code,
        roster_codes=[roster_code],
        academic_year=academic_year,
        semester=semester,
        limit=1,
    )
    return rows[0] if rows else None


async def move(
    session: AsyncSession,
    submission_id: uuid.UUID,
    *,
    from_states: tuple[SubmissionState, ...],
    **values: Any,
) -> bool:
    """Move a submission on only from the given states (one conditional UPDATE)."""
    stmt = (
        sa.update(Submission)
        .where(col(Submission.id) == submission_id, col(Submission.state).in_(from_states))
        .values(**values)
    )
    result = await session.exec(stmt)
    return bool(result.rowcount)


async def stale_requests(session: AsyncSession, *, older_than: datetime) -> list[Submission]:
    """Submissions still waiting for their owner's lock since before `older_than`."""
    stmt = select(Submission).where(
        Submission.state == SubmissionState.REQUESTED,
        col(Submission.requested_at) < older_than,
    )
    return list((await session.exec(stmt)).all())


async def mark_reopened(
    session: AsyncSession,
    *,
    school_code: str,
    roster_code: str,
    academic_year: int,
    semester: int,
    at: datetime,
    by: uuid.UUID | None,
) -> None:
    """Note on the term's completed submissions that the owner reopened the term."""
    stmt = (
        sa.update(Submission)
        .where(
            col(Submission.school_code) == school_code,
            col(Submission.roster_code) == roster_code,
            col(Submission.academic_year) == academic_year,
            col(Submission.semester) == semester,
            col(Submission.reopened_at).is_(None),
            col(Submission.state).in_([SubmissionState.COMPLETED, SubmissionState.FAILED]),
        )
        .values(reopened_at=at, reopened_by=by)
    )
    await session.exec(stmt)
