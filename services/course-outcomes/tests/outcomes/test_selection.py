"""勾選: at most the parameters' cap of certified outcomes per semester."""

from __future__ import annotations

from typing import Any


async def test_fourth_selection_is_refused(term: Any) -> None:
    ids = []
    for _ in range(4):
        outcome = await term.new_outcome()
        assert (await term.submit(outcome["id"])).status_code == 200
        assert (await term.decide(outcome["id"], {"certified": True})).status_code == 200
        ids.append(outcome["id"])
    url = f"{term.base}/me/selections"
    four = await term.api.client.put(
        url, json={"academic_year": 115, "semester": 1, "outcome_ids": ids}, headers=term.student()
    )
    assert four.status_code == 409
    assert four.json()["error"] == "quota_exceeded"
    assert "3" in four.json()["message"]
    three = await term.api.client.put(
        url,
        json={"academic_year": 115, "semester": 1, "outcome_ids": ids[:3]},
        headers=term.student(),
    )
    assert three.status_code == 200
    assert len(three.json()) == 3
