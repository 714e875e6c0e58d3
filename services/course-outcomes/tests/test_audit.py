"""稽核紀錄 in course outcomes: the school admin reads who changed which outcome, and only they."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


async def _certified_outcome(term: Any) -> dict[str, Any]:
    outcome: dict[str, Any] = await term.new_outcome()
    assert (await term.submit(outcome["id"])).status_code == 200
    decided = await term.decide(outcome["id"], {"certified": True})
    assert decided.status_code == 200, decided.text
    return outcome


async def test_the_admin_reads_one_outcomes_history_newest_first(term: Any) -> None:
    outcome = await _certified_outcome(term)
    other = await term.new_outcome(which=2)
    admin = term.api.as_roles("admin", person_id=uuid.uuid4())
    url = f"{term.base}/audit"

    history = await term.api.client.get(
        url, params={"entity": "outcome", "entity_id": outcome["id"]}, headers=admin
    )
    assert history.status_code == 200, history.text
    page = history.json()
    actions = [row["action"] for row in page["items"]]
    assert actions[0] == "outcome.certified"
    assert actions[-1] == "outcome.created"
    assert "outcome.submitted" in actions
    assert actions.index("outcome.certified") < actions.index("outcome.submitted")
    assert page["total"] == len(actions)
    assert {row["entity_id"] for row in page["items"]} == {outcome["id"]}
    times = [datetime.fromisoformat(row["occurred_at"]) for row in page["items"]]
    assert times == sorted(times, reverse=True)

    certified = page["items"][0]
    assert certified["entity"] == "outcome"
    assert certified["actor_id"] == str(term.teacher_a)
    assert certified["before"]["status"] == "submitted"
    assert certified["after"]["status"] == "certified"

    # An id in another spelling finds the same rows; the other outcome's never appear.
    upper = await term.api.client.get(
        url, params={"entity_id": outcome["id"].upper()}, headers=admin
    )
    assert upper.json()["total"] == page["total"]
    everything = await term.api.client.get(url, params={"entity": "outcome"}, headers=admin)
    ids = {row["entity_id"] for row in everything.json()["items"]}
    assert ids == {outcome["id"], other["id"]}


async def test_filters_by_action_actor_and_time_and_pages(term: Any) -> None:
    outcome = await _certified_outcome(term)
    admin = term.api.as_roles("admin", person_id=uuid.uuid4())
    url = f"{term.base}/audit"

    by_action = await term.api.client.get(
        url, params={"action": "outcome.certified"}, headers=admin
    )
    [row] = by_action.json()["items"]
    assert row["entity_id"] == outcome["id"]

    by_teacher = await term.api.client.get(
        url, params={"person_id": str(term.teacher_a)}, headers=admin
    )
    assert [r["action"] for r in by_teacher.json()["items"]] == ["outcome.certified"]
    by_student = await term.api.client.get(
        url, params={"person_id": str(term.student_1), "entity": "outcome"}, headers=admin
    )
    student_rows = by_student.json()["items"]
    assert {r["action"] for r in student_rows} >= {"outcome.created", "outcome.submitted"}
    assert all(r["actor_id"] == str(term.student_1) for r in student_rows)

    now = datetime.now(UTC)
    future = await term.api.client.get(
        url, params={"since": (now + timedelta(minutes=5)).isoformat()}, headers=admin
    )
    assert future.json() == {"items": [], "next_cursor": None, "total": 0}
    naive = await term.api.client.get(url, params={"since": "2026-09-01T08:00:00"}, headers=admin)
    assert naive.status_code == 422
    assert "since" in naive.json()["message"]

    # Paged one row at a time, the pages put together are the whole list, in the same order.
    whole = (await term.api.client.get(url, headers=admin)).json()
    assert whole["total"] >= 4  # the import, the parameters, and the outcome's changes
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = (await term.api.client.get(url, params=params, headers=admin)).json()
        assert page["total"] == whole["total"]
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r["id"] for r in whole["items"]]


async def test_only_the_schools_admin_reads_the_audit_log(term: Any) -> None:
    await _certified_outcome(term)
    url = f"{term.base}/audit"
    for headers in (term.teacher(), term.student(), term.submitter()):
        refused = await term.api.client.get(url, headers=headers)
        assert refused.status_code == 403, refused.text
        assert "items" not in refused.text
    anonymous = await term.api.client.get(url)
    assert anonymous.status_code == 401

    # The admin of another school reaches nothing here, and our admin nothing there.
    api = term.api
    other = f"{(int(api.school) + 1) % 10**6:06d}"
    outsider = api.issuer.headers(person_id=uuid.uuid4(), groups=[f"/schools/{other}/admin"])
    refused = await api.client.get(url, headers=outsider)
    assert refused.status_code == 403
    assert "items" not in refused.text
    own_admin = api.as_roles("admin", person_id=uuid.uuid4())
    elsewhere = await api.client.get(
        f"/api/course-outcomes/v1/schools/{other}/audit", headers=own_admin
    )
    assert elsewhere.status_code == 403
    assert "items" not in elsewhere.text
    # The outsider, in their own school, sees only that school's (empty) log.
    theirs = await api.client.get(
        f"/api/course-outcomes/v1/schools/{other}/audit", headers=outsider
    )
    assert theirs.status_code == 200
    assert theirs.json()["total"] == 0
    bad = await api.client.get("/api/course-outcomes/v1/schools/nope/audit", headers=own_admin)
    assert bad.status_code == 404
