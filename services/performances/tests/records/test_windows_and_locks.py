"""The fill window (409 window_closed) and a submitted 名冊 25 (423 on every change)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from licheng.contracts.events import SubmissionRequested
from licheng.contracts.rosters import RosterCode
from licheng.kit.timeutil import TAIPEI
from licheng.performances.models import Performance

from .conftest import YEAR, Filling


async def test_outside_the_fill_window_nothing_changes(school: Any) -> None:
    filling = Filling(school)
    closed = await filling.client.post(
        f"{filling.base}/performances", json=filling.body(), headers=filling.student()
    )
    assert closed.status_code == 409  # windows are closed until the school opens them
    assert closed.json()["error"] == "window_closed"
    assert "學生填寫多元表現" in closed.json()["message"]
    await school.open_windows()
    created = await filling.create()
    url = f"{filling.base}/performances/{created['id']}"
    past = datetime.now(UTC) - timedelta(days=10)
    await school.open_windows(
        fill_from=(past - timedelta(days=30)).isoformat(), fill_until=past.isoformat()
    )
    for method, body in (("PATCH", {"brief": "改"}), ("DELETE", None)):
        refused = await filling.client.request(method, url, json=body, headers=filling.student())
        assert refused.status_code == 409, method
        assert refused.json()["error"] == "window_closed"
        assert past.astimezone(TAIPEI).date().isoformat() in refused.json()["message"]
    assert await filling.api.count(Performance) == 1
    read = await filling.client.get(url, headers=filling.student())
    assert read.json()["brief"] == created["brief"]


async def test_a_submitted_roster_25_locks_creating_editing_and_selecting(
    filling: Filling,
) -> None:
    created = await filling.create()
    url = f"{filling.base}/performances/{created['id']}"
    submission = uuid.uuid4()
    await filling.api.publish(
        SubmissionRequested(submission_id=submission, roster_code=RosterCode.PERFORMANCES,
                            academic_year=YEAR, semester=0)
    )  # fmt: skip

    async def locked() -> bool:
        # A stale If-Match changes nothing while unlocked (409) and meets the lock first (423).
        stale = {**filling.student(), "if-match": "0"}
        response = await filling.client.patch(url, json={"brief": "改"}, headers=stale)
        return response.status_code == 423

    await filling.api.eventually(locked, "the 名冊 25 lock")
    answers = [
        await filling.client.post(
            f"{filling.base}/performances", json=filling.body(), headers=filling.student()
        ),
        await filling.client.patch(url, json={"brief": "改"}, headers=filling.student()),
        await filling.client.delete(url, headers=filling.student()),
        await filling.upload(created["id"], "a.pdf", filling.school.PDF),
        await filling.client.put(
            f"{filling.base}/me/selections",
            json={"academic_year": YEAR, "performance_ids": [created["id"]]},
            headers=filling.student(),
        ),
    ]
    for answer in answers:
        assert answer.status_code == 423, answer.text
        assert answer.json()["error"] == "roster_locked"
        assert str(submission) in answer.json()["message"]
    assert await filling.api.count(Performance) == 1
    assert await filling.objects(created["id"]) == []
    read = await filling.client.get(url, headers=filling.student())
    assert read.status_code == 200
    assert (read.json()["brief"], read.json()["selected"]) == (created["brief"], False)
