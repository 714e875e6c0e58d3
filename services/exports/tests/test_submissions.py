"""The 提交 saga against owners played by the test (their events published on NATS): who may
submit which 名冊, waiting for the lock, one run at a time, a timed-out owner, a completed run
standing until the term is reopened, and a read model that replays harmlessly."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from licheng.contracts.events import (
    CadreRecorded,
    CadreRemoved,
    OutcomeCreated,
    OutcomeDeleted,
    OutcomeSelectionChanged,
    OutcomesTermLocked,
    OutcomesTermReopened,
    PersonUpserted,
)
from licheng.exports.models import (
    CadreRow,
    ExportJob,
    JobState,
    OutcomeRow,
    Submission,
    SubmissionState,
)
from licheng.kit.inbox import InboxMessage

TERM = {"academic_year": 115, "semester": 1}


def outcome(student_id: uuid.UUID, **changes: Any) -> dict[str, Any]:
    """An outcome snapshot's data."""
    return {
        "outcome_id": uuid.uuid4(), "student_id": student_id, **TERM, "status": "certified",
        "outcome_type": "書面報告", "brief": "成果", "selected": True,
        "course_code": "108011302H11101A1010101", "subject_name": "國語文", "credits": 4,
        "grade": 1, **changes,
    }  # fmt: skip


async def submission(api: Any, submission_id: str) -> Submission:
    async with api.app.state.session_factory() as session:
        found = await session.get(Submission, uuid.UUID(submission_id))
    assert found is not None
    return found


async def test_each_roster_only_by_its_own_submitter(exports_api: Any) -> None:
    api = exports_api
    url = f"{api.base}/submissions"
    course = api.as_roles("course_submitter")
    refused = await api.client.post(url, headers=course,
                                    json={"roster_code": "25", "academic_year": 115})  # fmt: skip
    assert (refused.status_code, refused.json()["error"]) == (403, "roster_not_allowed")
    assert "學生自填多元表現名冊" in refused.json()["message"]
    for role, body in (
        ("performance_submitter", {"roster_code": "26", **TERM}),
        ("cadre_submitter", {"roster_code": "25", "academic_year": 115}),
        ("student", {"roster_code": "24", **TERM}),
        ("homeroom_teacher", {"roster_code": "26", **TERM}),
    ):
        answer = await api.client.post(url, headers=api.as_roles(role), json=body)
        assert answer.status_code == 403, (role, answer.text)
    no_term = await api.client.post(url, headers=api.as_roles("admin"),
                                    json={"roster_code": "24", "academic_year": 115})  # fmt: skip
    assert (no_term.status_code, no_term.json()["error"]) == (400, "semester_required")
    assert await api.count(Submission) == 0

    mine = await api.client.post(url, headers=course, json={"roster_code": "26", **TERM})
    assert mine.status_code == 202, mine.text
    other = api.as_roles("cadre_submitter")
    assert (await api.client.get(f"{url}/{mine.json()['id']}", headers=other)).status_code == 404
    assert (await api.client.get(url, headers=other)).json()["items"] == []
    assert len((await api.client.get(url, headers=course)).json()["items"]) == 1


async def test_a_run_waits_for_the_owners_lock_and_then_queues_its_job(exports_api: Any) -> None:
    api = exports_api
    student = uuid.uuid4()
    await api.publish(PersonUpserted(person_id=student, kind="student", local_no="110001",
                                     name="林同學", username="s1", class_code="101", seat_no=1,
                                     status="在籍"))  # fmt: skip
    data = outcome(student)
    await api.publish(OutcomeCreated(**data))
    await api.publish(OutcomeSelectionChanged(**data))

    async def has_outcome() -> bool:
        return await api.count(OutcomeRow) == 1

    await api.eventually(has_outcome, "the outcome in the read model")
    course = api.as_roles("course_submitter")
    started = await api.client.post(f"{api.base}/submissions", headers=course,
                                     json={"roster_code": "26", **TERM})  # fmt: skip
    assert started.status_code == 202
    assert started.json()["state"] == "requested"
    racing = await api.client.post(f"{api.base}/submissions", headers=course,
                                   json={"roster_code": "26", **TERM})  # fmt: skip
    assert (racing.status_code, racing.json()["error"]) == (409, "submission_in_progress")

    await api.publish(OutcomesTermLocked(submission_id=uuid.UUID(started.json()["id"]), **TERM,
                                         high_water_mark=42))  # fmt: skip

    async def building() -> bool:
        run = await submission(api, started.json()["id"])
        return run.state is SubmissionState.BUILDING

    await api.eventually(building, "the run to start building")
    run = await submission(api, started.json()["id"])
    assert run.high_water_mark == 42
    async with api.app.state.session_factory() as session:
        [job] = (await session.exec(select(ExportJob))).all()
    assert (job.id, job.state, job.submission_id) == (run.job_id, JobState.QUEUED, run.id)
    seen = await api.client.get(f"{api.base}/submissions/{run.id}", headers=course)
    assert seen.json()["job"]["state"] == "queued"

    # A replayed lock (a redelivery) queues nothing more.
    await api.publish(OutcomesTermLocked(submission_id=run.id, **TERM, high_water_mark=42))
    await asyncio.sleep(0.5)
    assert await api.count(ExportJob) == 1


async def test_racing_requests_start_one_run(exports_api: Any) -> None:
    api = exports_api
    headers = api.as_roles("cadre_submitter")
    answers = await asyncio.gather(
        *(
            api.client.post(
                f"{api.base}/submissions", headers=headers, json={"roster_code": "24", **TERM}
            )
            for _ in range(4)
        )
    )
    assert sorted(a.status_code for a in answers) == [202, 409, 409, 409]
    assert await api.count(Submission) == 1


async def test_an_owner_that_never_locks_fails_the_run_visibly(exports_api: Any) -> None:
    api = exports_api
    headers = api.as_roles("performance_submitter")
    body = {"roster_code": "25", "academic_year": 115}
    started = await api.client.post(f"{api.base}/submissions", headers=headers, json=body)
    assert started.status_code == 202
    assert started.json()["semester"] == 0  # 名冊 25 is yearly

    async def failed() -> bool:
        run = await submission(api, started.json()["id"])
        return run.state is SubmissionState.FAILED

    await api.eventually(failed, "the owner timeout")
    seen = (await api.client.get(f"{api.base}/submissions/{started.json()['id']}",
                                 headers=headers)).json()  # fmt: skip
    assert seen["failure_code"] == "owner_timeout"
    assert "沒有回應" in seen["failure_reason"]
    # A lock arriving after the timeout starts nothing; the submitter simply runs again.
    await api.publish(OutcomesTermLocked(submission_id=uuid.UUID(seen["id"]), academic_year=115,
                                         semester=0, high_water_mark=1))  # fmt: skip
    again = await api.client.post(f"{api.base}/submissions", headers=headers, json=body)
    assert again.status_code == 202, again.text
    assert await api.count(ExportJob) == 0


async def test_a_completed_run_stands_until_the_owner_reopens(exports_api: Any) -> None:
    api = exports_api
    headers = api.as_roles("course_submitter")
    body = {"roster_code": "26", **TERM}
    started = await api.client.post(f"{api.base}/submissions", headers=headers, json=body)
    async with api.app.state.session_factory() as session:
        await session.exec(  # what a worker records when the build is done
            sa.update(Submission)
            .where(Submission.id == uuid.UUID(started.json()["id"]))  # type: ignore[arg-type]
            .values(state=SubmissionState.COMPLETED, content_hash="0" * 64)
        )
        await session.commit()
    refused = await api.client.post(f"{api.base}/submissions", headers=headers, json=body)
    assert (refused.status_code, refused.json()["error"]) == (409, "already_submitted")
    assert "解除鎖定" in refused.json()["message"]

    await api.publish(OutcomesTermReopened(submission_id=uuid.UUID(started.json()["id"]),
                                           **TERM))  # fmt: skip

    async def reopened() -> bool:
        return (await submission(api, started.json()["id"])).reopened_at is not None

    await api.eventually(reopened, "the reopen to reach exports")
    again = await api.client.post(f"{api.base}/submissions", headers=headers, json=body)
    assert again.status_code == 202, again.text
    history = (await api.client.get(f"{api.base}/submissions", headers=headers)).json()["items"]
    assert [h["state"] for h in history] == ["requested", "completed"]


async def test_the_read_model_replays_harmlessly_and_forgets_deletions(exports_api: Any) -> None:
    api = exports_api
    student = uuid.uuid4()
    data = outcome(student)
    created = OutcomeCreated(**data).envelope(school_code=api.school, actor_id=None)
    js = api.nats.jetstream()
    for _ in range(2):  # the same event delivered twice (no de-duplication header)
        await js.publish(created.subject, created.model_dump_json().encode())
    cadre = {"cadre_id": uuid.uuid4(), "student_id": student, **TERM, "unit_name": "熱舞社",
             "role_title": "社長", "level": 3, "start_date": "2026-09-01"}  # fmt: skip
    await api.publish(CadreRecorded(**cadre))

    async def both() -> bool:
        return await api.count(OutcomeRow) == 1 and await api.count(CadreRow) == 1

    await api.eventually(both, "the records")
    async with api.app.state.session_factory() as session:
        handled = (
            await session.exec(select(InboxMessage).where(InboxMessage.event_id == created.id))
        ).all()
    assert len(handled) == 1
    await api.publish(OutcomeDeleted(**data))
    await api.publish(CadreRemoved(**cadre))

    async def gone() -> bool:
        return await api.count(OutcomeRow) == 0 and await api.count(CadreRow) == 0

    await api.eventually(gone, "deletions")
