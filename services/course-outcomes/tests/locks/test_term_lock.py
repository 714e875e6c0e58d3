"""exports' submission request locks the term (423, `term.locked` with a high-water mark);
the admin reopens it."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from licheng.contracts.events import EventEnvelope, OutcomesTermLocked, SubmissionRequested
from licheng.contracts.rosters import RosterCode
from licheng.kit.outbox import OutboxMessage


async def test_submission_request_locks_the_term_until_reopened(term: Any) -> None:
    outcome = await term.new_outcome()
    submission = uuid.uuid4()
    await term.api.publish(
        SubmissionRequested(
            submission_id=submission,
            roster_code=RosterCode.COURSE_OUTCOMES,
            academic_year=115,
            semester=1,
        )
    )
    url = f"{term.base}/outcomes/{outcome['id']}"

    async def locked() -> bool:
        response = await term.api.client.patch(url, json={"brief": "改"}, headers=term.student())
        return response.status_code == 423

    await term.api.eventually(locked, "the term lock")
    refused = await term.api.client.post(f"{url}/submission", headers=term.student())
    assert refused.status_code == 423
    assert refused.json()["error"] == "term_locked"
    assert str(submission) in refused.json()["message"]
    async with term.api.app.state.engine.connect() as connection:
        payloads = (
            (
                await connection.execute(
                    sa.select(OutboxMessage.payload).where(
                        OutboxMessage.subject.like("%.term.locked")
                    )  # type: ignore[attr-defined]
                )
            )
            .scalars()
            .all()
        )
    assert len(payloads) == 1
    locked_event = EventEnvelope.model_validate_json(payloads[0])
    assert OutcomesTermLocked.model_validate(locked_event.data).high_water_mark > 0
    # Not even course staff move a submitted outcome to another teacher.
    moved = await term.api.client.put(
        f"{url}/certifier", json={"teacher_id": str(term.teacher_b)}, headers=term.submitter()
    )
    assert moved.status_code == 423

    not_admin = await term.api.client.post(
        f"{term.base}/terms/115/1/reopen", headers=term.submitter()
    )
    assert not_admin.status_code == 403
    reopened = await term.api.client.post(
        f"{term.base}/terms/115/1/reopen", headers=term.api.as_roles("admin")
    )
    assert reopened.status_code == 204
    assert (
        await term.api.client.patch(url, json={"brief": "改好了"}, headers=term.student())
    ).status_code == 200
