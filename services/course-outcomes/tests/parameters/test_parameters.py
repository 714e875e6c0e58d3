"""參數設定 through the HTTP API (defaults, versions, who may change them) and the window check."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from licheng.course_outcomes.parameters.service import check_window
from licheng.kit.errors import WindowClosed


async def test_parameters_defaults_update_and_versions(course_api: Any) -> None:
    api = course_api
    url = f"/api/course-outcomes/v1/schools/{api.school}/parameters/115/1"
    submitter = api.as_roles("course_submitter")
    fresh = await api.client.get(url, headers=api.as_roles("student"))
    assert fresh.status_code == 200
    body = fresh.json()
    assert body["version"] == 0
    assert body["selections_per_semester"] == 3
    assert body["brief_max_chars"] == 100
    assert body["file_limits"] == {
        "pdf": 4 * 2**20,
        "jpg": 4 * 2**20,
        "png": 4 * 2**20,
        "mp3": 10 * 2**20,
        "mp4": 10 * 2**20,
    }
    assert body["upload_from"] is None
    now = datetime.now(UTC)
    update = {
        "upload_from": now.isoformat(),
        "upload_until": (now + timedelta(days=30)).isoformat(),
        "certify_from": now.isoformat(),
        "certify_until": (now + timedelta(days=40)).isoformat(),
        "selections_per_semester": 3,
        "uploads_per_semester": 9,
        "file_limits": {"pdf": 4 * 2**20, "png": 2 * 2**20},
    }
    saved = await api.client.put(url, json=update, headers={**submitter, "if-match": "0"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    assert saved.json()["file_limits"] == {"pdf": 4 * 2**20, "png": 2 * 2**20}
    stale = await api.client.put(url, json=update, headers={**submitter, "if-match": "0"})
    assert stale.status_code == 409
    teacher = await api.client.put(url, json=update, headers=api.as_roles("course_teacher"))
    assert teacher.status_code == 403
    performance = await api.client.put(
        url, json=update, headers=api.as_roles("performance_submitter")
    )
    assert performance.status_code == 403
    backwards = {**update, "upload_until": (now - timedelta(days=1)).isoformat()}
    assert (await api.client.put(url, json=backwards, headers=submitter)).status_code == 422
    too_big = {**update, "file_limits": {"mp4": 500 * 2**20}}
    assert (await api.client.put(url, json=too_big, headers=submitter)).status_code == 422
    admin = await api.client.put(url, json=update, headers=api.as_roles("admin"))
    assert admin.status_code == 200
    assert admin.json()["version"] == 2
    naive = {**update, "upload_from": "2026-09-01T08:00:00"}
    refused = await api.client.put(url, json=naive, headers=submitter)
    assert refused.status_code == 422
    assert "upload_from" in refused.json()["message"]
    assert (await api.client.get(url, headers=submitter)).json()["version"] == 2
    taipei = {**update, "upload_from": "2026-09-01T08:00:00+08:00"}
    assert (await api.client.put(url, json=taipei, headers=submitter)).status_code == 200
    stored = (await api.client.get(url, headers=submitter)).json()
    assert datetime.fromisoformat(stored["upload_from"]) == datetime(2026, 9, 1, tzinfo=UTC)


def test_window_check_names_the_window() -> None:
    start = datetime(2026, 9, 1, tzinfo=UTC)
    end = datetime(2027, 2, 14, tzinfo=UTC)
    check_window(start, end, what="上傳", now=datetime(2026, 10, 1, tzinfo=UTC))
    with pytest.raises(WindowClosed) as closed:
        check_window(start, end, what="上傳", now=datetime(2027, 3, 1, tzinfo=UTC))
    assert closed.value.status_code == 409
    assert "上傳" in closed.value.message
    assert "2027-02-14" in closed.value.message
    with pytest.raises(WindowClosed) as unset:
        check_window(None, None, what="認證")
    assert "未設定" in unset.value.message


async def test_concurrent_parameter_changes_have_one_winner(course_api: Any) -> None:
    api = course_api
    url = f"/api/course-outcomes/v1/schools/{api.school}/parameters/115/1"
    submitter = api.as_roles("course_submitter")
    first = [
        api.client.put(
            url, json={"uploads_per_semester": n}, headers={**submitter, "if-match": "0"}
        )
        for n in (5, 6, 7, 8)
    ]
    answers = await asyncio.gather(*first)
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409], [r.text for r in answers]
    stored = (await api.client.get(url, headers=submitter)).json()
    assert stored["version"] == 1
    winner = next(r.json() for r in answers if r.status_code == 200)
    assert stored["uploads_per_semester"] == winner["uploads_per_semester"]

    again = [
        api.client.put(
            url, json={"uploads_per_semester": n}, headers={**submitter, "if-match": "1"}
        )
        for n in (11, 12, 13, 14)
    ]
    answers = await asyncio.gather(*again)
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409], [r.text for r in answers]
    assert {r.json()["error"] for r in answers if r.status_code == 409} == {"version_conflict"}
    stored = (await api.client.get(url, headers=submitter)).json()
    assert stored["version"] == 2
