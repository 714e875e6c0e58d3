"""exports' submission request locks 名冊 25 (yearly) and 24 (per semester): `ensure_unlocked`
refuses, `performances.roster.locked` carries the high-water mark; the admin reopens with a
reason."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from licheng.contracts.events import (
    EventEnvelope,
    PerformanceCreated,
    PerformancesRosterLocked,
    PerformancesRosterReopened,
    SubmissionRequested,
)
from licheng.kit.errors import Locked
from licheng.kit.outbox import OutboxMessage
from licheng.performances.locks.service import ensure_unlocked
from licheng.performances.models import Category, Origin, Performance, RosterLock
from licheng.performances.records.changes import record_performance_change

YEAR = 115


async def _lock(school: Any, roster_code: str, semester: int) -> uuid.UUID:
    """Ask for a submission of a 名冊 as exports would, and wait until it is locked."""
    submission = uuid.uuid4()
    await school.api.publish(
        SubmissionRequested(submission_id=submission, roster_code=roster_code,
                            academic_year=YEAR, semester=semester)
    )  # fmt: skip

    async def locked() -> bool:
        found = await _locks(school)
        return any(lock.submission_id == submission and lock.locked for lock in found)

    await school.api.eventually(locked, f"the lock of 名冊 {roster_code}")
    return submission


async def _locks(school: Any) -> list[RosterLock]:
    async with school.api.app.state.session_factory() as session:
        return list((await session.exec(select(RosterLock))).all())


async def _refusal(school: Any, roster_code: str, year: int = YEAR, semester: int = 0) -> Any:
    """`ensure_unlocked`'s answer: the Locked error, or None when edits are allowed."""
    async with school.api.app.state.session_factory() as session:
        try:
            await ensure_unlocked(session, school.api.school, roster_code, year, semester)
        except Locked as refused:
            return refused
    return None


async def _events(school: Any, verb: str) -> list[EventEnvelope]:
    async with school.api.app.state.engine.connect() as connection:
        stmt = (
            sa.select(OutboxMessage.seq, OutboxMessage.payload)
            .where(col(OutboxMessage.subject).like(f"performances.%.roster.{verb}"))
            .order_by(col(OutboxMessage.seq))
        )
        rows = (await connection.execute(stmt)).all()
    return [EventEnvelope.model_validate_json(payload) for _, payload in rows]


async def _a_record_event(school: Any) -> int:
    """Store a record with its event, as the records API does; its outbox sequence."""
    record = Performance(
        school_code=school.api.school,
        student_id=school.students["110001"],
        academic_year=YEAR,
        category=Category.WORK,
        origin=Origin.SELF,
        fields={"name": "專題", "made_on": "2026-10-01"},
        brief="專題成果",
    )
    async with school.api.app.state.session_factory() as session:
        session.add(record)
        await session.flush()
        await record_performance_change(
            session, record, event=PerformanceCreated, actor_id=school.students["110001"]
        )
        await session.commit()
    async with school.api.app.state.engine.connect() as connection:
        seq = (await connection.execute(sa.select(sa.func.max(OutboxMessage.seq)))).scalar_one()
    assert seq is not None
    return int(seq)


async def test_a_submission_request_locks_the_yearly_roster(school: Any) -> None:
    record_seq = await _a_record_event(school)
    assert await _refusal(school, "25") is None
    # 名冊 26 is course outcomes': this service ignores it (and reads it before 25's request).
    await school.api.publish(
        SubmissionRequested(submission_id=uuid.uuid4(), roster_code="26", academic_year=YEAR,
                            semester=1)
    )  # fmt: skip
    submission = await _lock(school, "25", 0)

    [lock] = await _locks(school)
    assert (lock.roster_code, lock.academic_year, lock.semester) == ("25", YEAR, 0)
    assert lock.locked
    assert lock.locked_at.tzinfo is not None
    refused = await _refusal(school, "25")
    assert refused is not None
    assert (refused.status_code, refused.error_code) == (423, "roster_locked")
    assert str(submission) in refused.message
    assert "學生自填多元表現名冊" in refused.message
    assert refused.detail["submission_id"] == str(submission)
    # Another year, and the cadre 名冊, are not locked by it.
    assert await _refusal(school, "25", year=YEAR + 1) is None
    assert await _refusal(school, "24", semester=1) is None

    [envelope] = await _events(school, "locked")
    assert envelope.type == "performances.roster.locked"
    assert envelope.school_code == school.api.school
    event = PerformancesRosterLocked.model_validate(envelope.data)
    assert (event.submission_id, event.roster_code, event.academic_year, event.semester) == (
        submission, "25", YEAR, 0
    )  # fmt: skip
    # Every record event written before the lock is at or below the mark.
    assert event.high_water_mark >= record_seq


async def test_a_yearly_request_for_a_semester_still_locks_the_year(school: Any) -> None:
    await _lock(school, "25", 1)
    [lock] = await _locks(school)
    assert lock.semester == 0
    assert await _refusal(school, "25") is not None


async def test_the_cadre_roster_locks_one_semester(school: Any) -> None:
    submission = await _lock(school, "24", 1)
    refused = await _refusal(school, "24", semester=1)
    assert refused is not None
    assert str(submission) in refused.message
    assert "第 1 學期" in refused.message
    assert await _refusal(school, "24", semester=2) is None
    assert await _refusal(school, "25") is None
    [envelope] = await _events(school, "locked")
    assert PerformancesRosterLocked.model_validate(envelope.data).semester == 1


async def test_the_admin_reopens_with_a_reason(school: Any) -> None:
    submission = await _lock(school, "25", 0)
    api = school.api
    url = f"{school.base}/rosters/25/{YEAR}/0/reopen"
    body = {"reason": "學生補登證明文件"}
    for headers in (school.as_role("performance_submitter"), school.student(), school.homeroom()):
        refused = await api.client.post(url, json=body, headers=headers)
        assert refused.status_code == 403, refused.text
    assert await _refusal(school, "25") is not None
    admin_id = uuid.uuid4()
    admin = api.as_roles("admin", person_id=admin_id)
    blank = await api.client.post(url, json={"reason": ""}, headers=admin)
    assert blank.status_code == 422
    wrong_roster = await api.client.post(
        f"{school.base}/rosters/26/{YEAR}/1/reopen", json=body, headers=admin
    )
    assert wrong_roster.status_code == 422

    reopened = await api.client.post(url, json=body, headers=admin)
    assert reopened.status_code == 204, reopened.text
    assert await _refusal(school, "25") is None
    [lock] = await _locks(school)
    assert not lock.locked
    assert (lock.reopen_reason, lock.reopened_by) == ("學生補登證明文件", admin_id)

    audit = await api.client.get(
        f"{school.base}/audit", params={"entity": "roster", "action": "roster.reopened"},
        headers=admin,
    )  # fmt: skip
    assert audit.status_code == 200, audit.text
    [row] = audit.json()["items"]
    assert (row["entity_id"], row["actor_id"]) == (f"25-{YEAR}-0", str(admin_id))
    assert row["after"]["reason"] == "學生補登證明文件"
    [envelope] = await _events(school, "reopened")
    assert envelope.type == "performances.roster.reopened"
    event = PerformancesRosterReopened.model_validate(envelope.data)
    assert (event.submission_id, event.roster_code, event.semester) == (submission, "25", 0)

    # Reopening what is not locked (again, or never) finds nothing to reopen.
    again = await api.client.post(url, json=body, headers=admin)
    assert again.status_code == 404
    assert again.json()["error"] == "roster_not_locked"
    never = await api.client.post(
        f"{school.base}/rosters/24/{YEAR}/1/reopen", json=body, headers=admin
    )
    assert never.status_code == 404

    # A new submission locks it again, under the new submission.
    resubmitted = await _lock(school, "25", 0)
    refused = await _refusal(school, "25")
    assert refused is not None
    assert str(resubmitted) in refused.message
    assert len(await _events(school, "locked")) == 2


@pytest.mark.parametrize("semester", [0, 3])
async def test_a_cadre_reopen_needs_a_real_semester(school: Any, semester: int) -> None:
    admin = school.api.as_roles("admin")
    answer = await school.api.client.post(
        f"{school.base}/rosters/24/{YEAR}/{semester}/reopen", json={"reason": "更正"},
        headers=admin,
    )  # fmt: skip
    assert answer.status_code in (404, 422)
