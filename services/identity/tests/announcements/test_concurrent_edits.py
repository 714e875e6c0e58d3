"""Concurrent edits of one announcement with the same `If-Match` version: one wins, the rest 409."""

from __future__ import annotations

import asyncio
from typing import Any


async def test_concurrent_edits_with_the_same_version_have_one_winner(api: Any) -> None:
    base = f"/api/identity/v1/schools/{api.school}/announcements"
    admin = api.as_admin()
    created = await api.client.post(
        base, json={"title": "段考", "body": "第一次段考"}, headers=admin
    )
    url = f"{base}/{created.json()['id']}"
    edits = [
        api.client.patch(url, json={"body": f"版本 {n}"}, headers={**admin, "if-match": "1"})
        for n in range(4)
    ]
    answers = await asyncio.gather(*edits)
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409]
    assert {r.json()["error"] for r in answers if r.status_code == 409} == {"version_conflict"}
    winner = next(r.json() for r in answers if r.status_code == 200)
    assert winner["version"] == 2
    [stored] = [
        a
        for a in (await api.client.get(base + "?include_scheduled=true", headers=admin)).json()[
            "items"
        ]
        if a["id"] == winner["id"]
    ]
    assert (stored["body"], stored["version"]) == (winner["body"], 2)
