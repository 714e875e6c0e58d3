"""自傳與學習計畫 參數設定: defaults, a merge patch with If-Match, checks, who may change them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


async def test_defaults_then_patches_by_the_admin(school: Any) -> None:
    url = f"{school.base}/parameters"
    defaults = await school.api.client.get(url, headers=school.student())
    assert defaults.status_code == 200, defaults.text
    assert defaults.json() == {"write_from": None, "write_until": None, "max_chars": 3000,
                               "version": 0}  # fmt: skip
    admin = school.as_role("admin")
    now = datetime.now(UTC)
    window = {"write_from": now.isoformat(), "write_until": (now + timedelta(days=7)).isoformat()}
    opened = await school.api.client.patch(url, json=window, headers={**admin, "if-match": "0"})
    assert opened.status_code == 200, opened.text
    assert opened.json()["version"] == 1
    assert opened.json()["max_chars"] == 3000
    smaller = await school.api.client.patch(
        url, json={"max_chars": 1500}, headers={**admin, "if-match": "1"}
    )
    assert smaller.status_code == 200, smaller.text
    assert (smaller.json()["max_chars"], smaller.json()["version"]) == (1500, 2)
    assert smaller.json()["write_from"] == opened.json()["write_from"]
    stale = await school.api.client.patch(
        url, json={"max_chars": 2000}, headers={**admin, "if-match": "1"}
    )
    assert stale.status_code == 409
    assert stale.json()["detail"]["current_version"] == 2
    cleared = await school.api.client.patch(
        url, json={"write_from": None, "write_until": None}, headers=admin
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["write_from"] is None
    long = await school.api.client.put(
        f"{school.base}/me/writings/autobiography", json={"text": "字" * 1501},
        headers=school.student(),
    )  # fmt: skip
    assert long.status_code == 422
    assert "1500" in long.json()["message"]


async def test_bad_windows_and_values_are_refused_naming_the_field(school: Any) -> None:
    url = f"{school.base}/parameters"
    admin = school.as_role("admin")
    now = datetime.now(UTC)
    backwards = {
        "write_from": now.isoformat(),
        "write_until": (now - timedelta(days=1)).isoformat(),
    }
    for body, field in ((backwards, "write_until"),
                        ({"write_from": now.isoformat()}, "write_until"),
                        ({"max_chars": 10}, "max_chars"),
                        ({"max_chars": None}, "max_chars"),
                        ({"write_from": "2025-01-01T00:00:00"}, "write_from")):  # fmt: skip
        refused = await school.api.client.patch(url, json=body, headers=admin)
        assert refused.status_code == 422, (body, refused.text)
        assert field in refused.json()["message"], refused.json()
    read = await school.api.client.get(url, headers=admin)
    assert read.json()["version"] == 0


async def test_only_the_admin_changes_them(school: Any) -> None:
    url = f"{school.base}/parameters"
    for headers in (school.student(), school.homeroom(), school.counselor(),
                    school.as_role("course_submitter")):  # fmt: skip
        denied = await school.api.client.patch(url, json={"max_chars": 2000}, headers=headers)
        assert denied.status_code == 403, denied.text
    assert (await school.api.client.get(url, headers=school.counselor())).status_code == 200
    assert (await school.api.client.get(url)).status_code == 401
