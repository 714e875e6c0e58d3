"""多元表現 參數設定: defaults, a partial PATCH, who may change them."""

from __future__ import annotations

from typing import Any


async def test_defaults_then_a_partial_patch_changes_only_what_was_sent(school: Any) -> None:
    url = f"{school.base}/parameters/115"
    defaults = await school.api.client.get(url, headers=school.student())
    assert defaults.status_code == 200
    assert defaults.json()["selections_per_year"] == 10
    assert defaults.json()["fill_from"] is None
    opened = await school.open_windows()
    patched = await school.api.client.patch(
        url,
        json={"selections_per_year": 8},
        headers={**school.as_role("performance_submitter"), "if-match": str(opened["version"])},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["selections_per_year"] == 8
    assert patched.json()["fill_from"] == opened["fill_from"]
    stale = await school.api.client.patch(
        url,
        json={"selections_per_year": 9},
        headers={**school.as_role("performance_submitter"), "if-match": str(opened["version"])},
    )
    assert stale.status_code == 409
    refused = await school.api.client.patch(
        url, json={"selections_per_year": None}, headers=school.as_role("performance_submitter")
    )
    assert refused.status_code == 422
    assert "selections_per_year" in refused.json()["message"]
    for role in ("student", "course_submitter", "homeroom_teacher"):
        denied = await school.api.client.patch(
            url, json={"selections_per_year": 5}, headers=school.as_role(role)
        )
        assert denied.status_code == 403, role
