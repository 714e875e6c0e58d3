"""Concurrent 認證 decisions and a double 送審: one winner each, the other answers 409."""

from __future__ import annotations

import asyncio
from typing import Any


async def test_concurrent_decisions_and_double_submit_have_one_winner(term: Any) -> None:
    outcome = await term.new_outcome()
    submits = await asyncio.gather(term.submit(outcome["id"]), term.submit(outcome["id"]))
    assert sorted(r.status_code for r in submits) == [200, 409]
    decisions = await asyncio.gather(
        term.decide(outcome["id"], {"certified": True}),
        term.decide(
            outcome["id"],
            {"certified": False, "reason_code": "02", "explanation": "無法查證"},
        ),
    )
    assert sorted(r.status_code for r in decisions) == [200, 409]
    conflict = next(r for r in decisions if r.status_code == 409)
    assert conflict.json()["error"] == "not_certifiable"


async def _status_of(term: Any, outcome_id: str) -> str:
    response = await term.api.client.get(
        f"{term.base}/outcomes/{outcome_id}", headers=term.student()
    )
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def test_a_failure_without_explanation_names_the_field_and_changes_nothing(
    term: Any,
) -> None:
    outcome = await term.new_outcome()
    assert (await term.submit(outcome["id"])).status_code == 200
    for explanation in (None, "   "):
        body: dict[str, Any] = {"certified": False, "reason_code": "01"}
        if explanation is not None:
            body["explanation"] = explanation
        refused = await term.decide(outcome["id"], body)
        assert refused.status_code == 422, refused.text
        answer = refused.json()
        assert answer["error"] == "request_invalid"
        [problem] = answer["detail"]
        assert problem["field"] == "explanation"
        assert problem["type"] == "explanation_required"
        assert "認證失敗需填寫認證說明" in problem["message"]
        assert "認證失敗需填寫認證說明" in answer["message"]
        assert "explanation" in answer["message"]
    assert await _status_of(term, outcome["id"]) == "submitted"


async def test_a_failure_without_anything_names_both_fields(term: Any) -> None:
    outcome = await term.new_outcome()
    assert (await term.submit(outcome["id"])).status_code == 200
    refused = await term.decide(outcome["id"], {"certified": False})
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    fields = {d["field"]: d for d in answer["detail"]}
    assert set(fields) == {"reason_code", "explanation"}
    assert fields["reason_code"]["type"] == "reason_code_required"
    assert "原因代碼" in answer["message"]
    assert "認證說明" in answer["message"]
    assert "reason_code" in answer["message"]
    # Nothing changed; a failure with both is accepted.
    assert await _status_of(term, outcome["id"]) == "submitted"
    failed = await term.decide(
        outcome["id"], {"certified": False, "reason_code": "04", "explanation": "請補充內容"}
    )
    assert failed.status_code == 200, failed.text
    assert failed.json()["status"] == "failed"
    assert failed.json()["fail_explanation"] == "請補充內容"
