"""Publishing times: read back as the same instant with an offset; a time without one is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


async def test_announcement_times_keep_their_instant_and_need_an_offset(api: Any) -> None:
    base = f"/api/identity/v1/schools/{api.school}/announcements"
    admin = api.as_admin()
    posted = await api.client.post(
        base,
        json={
            "title": "開學典禮",
            "body": "早上八點",
            "publish_from": "2026-09-01T08:00:00+08:00",
            "publish_until": "2026-09-30T17:00:00+08:00",
        },
        headers=admin,
    )
    assert posted.status_code == 201, posted.text
    listed = await api.client.get(base + "?include_scheduled=true", headers=admin)
    [item] = listed.json()["items"]
    # Read back as the same instant (UTC), with its offset: never 08:00 without one.
    assert datetime.fromisoformat(item["publish_from"]) == datetime(2026, 9, 1, 0, 0, tzinfo=UTC)
    assert datetime.fromisoformat(item["publish_until"]).utcoffset() is not None
    assert datetime.fromisoformat(item["publish_until"]) == datetime(2026, 9, 30, 9, 0, tzinfo=UTC)

    naive = await api.client.post(
        base,
        json={"title": "無時區", "body": "x", "publish_from": "2026-09-01T08:00:00"},
        headers=admin,
    )
    assert naive.status_code == 422
    assert naive.json()["error"] == "request_invalid"
    assert "publish_from" in naive.json()["message"]
    assert "時區" in naive.json()["message"]
    again = await api.client.get(base + "?include_scheduled=true", headers=admin)
    assert again.json()["total"] == 1
