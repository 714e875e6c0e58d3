"""勾選: at most the parameters' cap of certified outcomes per semester, inside the 勾選 window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


async def test_selection_needs_the_selection_window(term: Any) -> None:
    outcome = await term.new_outcome()
    assert (await term.submit(outcome["id"])).status_code == 200
    assert (await term.decide(outcome["id"], {"certified": True})).status_code == 200
    url = f"{term.base}/me/selections"
    body = {"academic_year": 115, "semester": 1, "outcome_ids": [outcome["id"]]}

    unset = await term.open_windows(select_from=None, select_until=None)
    assert (unset["select_from"], unset["select_until"]) == (None, None)
    closed = await term.api.client.put(url, json=body, headers=term.student())
    assert closed.status_code == 409
    assert closed.json()["error"] == "window_closed"
    assert "學生勾選" in closed.json()["message"]
    assert "未設定" in closed.json()["message"]

    soon = datetime.now(UTC) + timedelta(days=3)
    await term.open_windows(
        select_from=soon.isoformat(), select_until=(soon + timedelta(days=7)).isoformat()
    )
    early = await term.api.client.put(url, json=body, headers=term.student())
    assert early.status_code == 409
    assert early.json()["error"] == "window_closed"
    assert "學生勾選" in early.json()["message"]
    assert early.json()["detail"]["from"] == soon.isoformat()
    mine = await term.api.client.get(
        f"{term.base}/outcomes/{outcome['id']}", headers=term.student()
    )
    assert mine.json()["selected"] is False

    # The other windows do not matter: with upload and certification closed, 勾選 is open.
    past = datetime.now(UTC) - timedelta(days=1)
    await term.open_windows(
        upload_until=past.isoformat(),
        upload_from=(past - timedelta(days=9)).isoformat(),
        certify_until=past.isoformat(),
        certify_from=(past - timedelta(days=9)).isoformat(),
    )
    chosen = await term.api.client.put(url, json=body, headers=term.student())
    assert chosen.status_code == 200, chosen.text
    assert [o["id"] for o in chosen.json()] == [outcome["id"]]
