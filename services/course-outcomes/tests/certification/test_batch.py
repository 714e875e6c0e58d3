"""Batch 認證: one decision for several outcomes, each result reported, none undone by another."""

from __future__ import annotations

import uuid
from typing import Any


async def test_batch_certifies_three_and_reports_each_refusal(term: Any) -> None:
    outcomes = [await term.new_outcome(which=1), await term.new_outcome(which=1)]
    outcomes.append(await term.new_outcome(which=2))
    for outcome, which in zip(outcomes, (1, 1, 2), strict=True):
        assert (await term.submit(outcome["id"], which)).status_code == 200
    decided = await term.new_outcome(which=2)
    await term.submit(decided["id"], 2)
    assert (await term.decide(decided["id"], {"certified": True})).status_code == 200
    elsewhere = await term.new_outcome(term.COURSE_Y)
    await term.submit(elsewhere["id"])
    ids = [o["id"] for o in outcomes] + [decided["id"], elsewhere["id"], str(uuid.uuid4())]
    answer = await term.api.client.post(
        f"{term.base}/certifications/batch",
        json={"certified": True, "outcome_ids": ids},
        headers=term.teacher("a"),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["succeeded"], body["failed"]) == (3, 3)
    results = {r["outcome_id"]: r for r in body["results"]}
    for outcome in outcomes:
        assert results[outcome["id"]]["ok"]
        assert results[outcome["id"]]["status"] == "certified"
    assert results[decided["id"]]["error"] == "not_certifiable"
    assert results[elsewhere["id"]]["error"] == "outcome_not_found"
    for outcome, which in zip(outcomes, (1, 1, 2), strict=True):
        read = await term.api.client.get(
            f"{term.base}/outcomes/{outcome['id']}", headers=term.student(which)
        )
        assert read.json()["status"] == "certified"
    untouched = await term.api.client.get(
        f"{term.base}/outcomes/{elsewhere['id']}", headers=term.student()
    )
    assert untouched.json()["status"] == "submitted"


async def test_batch_by_class_fails_with_a_reason_and_needs_a_choice(term: Any) -> None:
    first = await term.new_outcome(which=1)
    second = await term.new_outcome(which=2)
    for outcome, which in ((first, 1), (second, 2)):
        await term.submit(outcome["id"], which)
    url = f"{term.base}/certifications/batch"
    nothing = await term.api.client.post(url, json={"certified": True}, headers=term.teacher("a"))
    assert nothing.status_code == 422
    no_reason = await term.api.client.post(
        url, json={"certified": False, "class_code": "101"}, headers=term.teacher("a")
    )
    assert no_reason.status_code == 422
    other_class = await term.api.client.post(
        url, json={"certified": True, "class_code": "102"}, headers=term.teacher("a")
    )
    assert other_class.json() == {"succeeded": 0, "failed": 0, "results": []}
    failed = await term.api.client.post(
        url,
        json={
            "certified": False,
            "reason_code": "04",
            "explanation": "請補充",
            "class_code": "101",
        },
        headers=term.teacher("a"),
    )
    assert failed.status_code == 200, failed.text
    assert failed.json()["succeeded"] == 2
    assert {r["status"] for r in failed.json()["results"]} == {"failed"}
