"""參數設定 through the HTTP API (defaults, versions, who may change them, PUT and merge-patch
PATCH) and the window check."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from licheng.course_outcomes.parameters.service import check_window
from licheng.kit.audit import AuditEntry
from licheng.kit.errors import WindowClosed

MERGE_PATCH = {"content-type": "application/merge-patch+json"}


def _whole(now: datetime, **changes: Any) -> dict[str, Any]:
    """A full PUT body: every field."""
    return {
        "upload_from": now.isoformat(),
        "upload_until": (now + timedelta(days=30)).isoformat(),
        "certify_from": now.isoformat(),
        "certify_until": (now + timedelta(days=40)).isoformat(),
        "select_from": (now + timedelta(days=40)).isoformat(),
        "select_until": (now + timedelta(days=50)).isoformat(),
        "uploads_per_semester": 9,
        "selections_per_semester": 3,
        "files_per_outcome": 2,
        "brief_max_chars": 100,
        "file_limits": {"pdf": 4 * 2**20, "png": 2 * 2**20},
        **changes,
    }


def _fields(answer: Any) -> set[str]:
    return {d["field"] for d in answer.json()["detail"]}


async def test_parameters_defaults_update_and_versions(course_api: Any) -> None:
    api = course_api
    url = f"/api/course-outcomes/v1/schools/{api.school}/parameters/115/1"
    submitter = api.as_roles("course_submitter")
    fresh = await api.client.get(url, headers=api.as_roles("student"))
    assert fresh.status_code == 200
    body = fresh.json()
    assert body["version"] == 0
    assert body["selections_per_semester"] == 3
    assert body["files_per_outcome"] == 2
    assert body["brief_max_chars"] == 100
    assert body["file_limits"] == {
        "pdf": 4 * 2**20,
        "jpg": 4 * 2**20,
        "png": 4 * 2**20,
        "mp3": 10 * 2**20,
        "mp4": 10 * 2**20,
    }
    assert body["upload_from"] is None
    assert (body["select_from"], body["select_until"]) == (None, None)  # 勾選 starts closed
    now = datetime.now(UTC)
    update = _whole(now)
    saved = await api.client.put(url, json=update, headers={**submitter, "if-match": "0"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    assert saved.json()["file_limits"] == {"pdf": 4 * 2**20, "png": 2 * 2**20}
    assert datetime.fromisoformat(saved.json()["select_until"]) == now + timedelta(days=50)
    stale = await api.client.put(url, json=update, headers={**submitter, "if-match": "0"})
    assert stale.status_code == 409
    teacher = await api.client.put(url, json=update, headers=api.as_roles("course_teacher"))
    assert teacher.status_code == 403
    performance = await api.client.put(
        url, json=update, headers=api.as_roles("performance_submitter")
    )
    assert performance.status_code == 403
    backwards = {**update, "upload_until": (now - timedelta(days=1)).isoformat()}
    refused = await api.client.put(url, json=backwards, headers=submitter)
    assert refused.status_code == 422
    assert _fields(refused) == {"upload_until"}
    too_big = {**update, "file_limits": {"mp4": 500 * 2**20}}
    refused = await api.client.put(url, json=too_big, headers=submitter)
    assert refused.status_code == 422
    assert _fields(refused) == {"file_limits.mp4"}
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


async def test_put_replaces_the_whole_and_names_what_is_missing(course_api: Any) -> None:
    api = course_api
    url = f"/api/course-outcomes/v1/schools/{api.school}/parameters/115/1"
    submitter = api.as_roles("course_submitter")
    partial = {"uploads_per_semester": 5, "select_from": None}
    refused = await api.client.put(url, json=partial, headers=submitter)
    assert refused.status_code == 422
    missing = _whole(datetime.now(UTC)).keys() - partial.keys()
    assert _fields(refused) == missing
    assert {d["type"] for d in refused.json()["detail"]} == {"missing"}
    assert "files_per_outcome 為必填" in refused.json()["message"]
    unknown = await api.client.put(url, json=_whole(datetime.now(UTC), score=5), headers=submitter)
    assert unknown.status_code == 422
    assert _fields(unknown) == {"score"}
    # null is a value: a PUT may leave a window unset, never a cap.
    cleared = _whole(datetime.now(UTC), select_from=None, select_until=None)
    answer = await api.client.put(url, json=cleared, headers=submitter)
    assert answer.status_code == 200, answer.text
    assert answer.json()["select_from"] is None
    refused = await api.client.put(
        url, json=_whole(datetime.now(UTC), brief_max_chars=None), headers=submitter
    )
    assert refused.status_code == 422
    assert _fields(refused) == {"brief_max_chars"}
    assert (await api.client.get(url, headers=submitter)).json()["version"] == 1


async def test_patch_changes_only_what_was_sent(course_api: Any) -> None:
    api = course_api
    url = f"/api/course-outcomes/v1/schools/{api.school}/parameters/115/1"
    submitter = api.as_roles("course_submitter")
    now = datetime.now(UTC)
    first = await api.client.put(url, json=_whole(now), headers=submitter)
    assert first.status_code == 200, first.text
    before = first.json()

    patched = await api.client.patch(
        url,
        json={"selections_per_semester": 5},
        headers={**submitter, **MERGE_PATCH, "if-match": str(before["version"])},
    )
    assert patched.status_code == 200, patched.text
    after = patched.json()
    assert after["selections_per_semester"] == 5
    assert after["version"] == before["version"] + 1
    unchanged = {k: v for k, v in after.items() if k not in ("selections_per_semester", "version")}
    assert unchanged == {k: before[k] for k in unchanged}
    assert (await api.client.get(url, headers=submitter)).json() == after

    async with api.app.state.session_factory() as session:
        audited = (
            await session.exec(
                select(AuditEntry)
                .where(AuditEntry.school_code == api.school)
                .where(AuditEntry.action == "parameters.updated")
                .order_by(col(AuditEntry.occurred_at))
            )
        ).all()
    assert [a.entity_id for a in audited] == ["115-1", "115-1"]
    last = audited[-1]
    assert last.before is not None
    assert last.after is not None
    assert (last.before["selections_per_semester"], last.after["selections_per_semester"]) == (3, 5)
    assert last.after["upload_until"] == last.before["upload_until"]

    # Plain JSON is a merge patch too; null clears a window bound (the window closes).
    cleared = await api.client.patch(
        url, json={"upload_until": None}, headers={**submitter, "if-match": "2"}
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["upload_until"] is None
    assert cleared.json()["upload_from"] == before["upload_from"]
    assert cleared.json()["version"] == 3


async def test_a_stale_patch_changes_nothing(course_api: Any) -> None:
    api = course_api
    url = f"/api/course-outcomes/v1/schools/{api.school}/parameters/115/1"
    submitter = api.as_roles("course_submitter")
    assert (await api.client.put(url, json=_whole(datetime.now(UTC)), headers=submitter)).is_success
    stored = (await api.client.get(url, headers=submitter)).json()
    stale = await api.client.patch(
        url,
        json={"uploads_per_semester": 20},
        headers={**submitter, **MERGE_PATCH, "if-match": "0"},
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == "version_conflict"
    assert stale.json()["detail"] == {"current_version": 1}
    assert (await api.client.get(url, headers=submitter)).json() == stored
    teacher = await api.client.patch(
        url, json={"uploads_per_semester": 20}, headers=api.as_roles("course_teacher")
    )
    assert teacher.status_code == 403


async def test_a_patch_is_checked_as_a_whole_and_refusals_name_the_field(course_api: Any) -> None:
    api = course_api
    url = f"/api/course-outcomes/v1/schools/{api.school}/parameters/115/1"
    submitter = {**api.as_roles("course_submitter"), **MERGE_PATCH}
    now = datetime.now(UTC)
    assert (await api.client.put(url, json=_whole(now), headers=submitter)).is_success
    stored = (await api.client.get(url, headers=submitter)).json()

    async def refused(body: dict[str, Any]) -> set[str]:
        answer = await api.client.patch(url, json=body, headers=submitter)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"] == "request_invalid"
        return _fields(answer)

    assert await refused({"uploads_per_semester": None}) == {"uploads_per_semester"}
    nulled = await api.client.patch(url, json={"brief_max_chars": None}, headers=submitter)
    assert "brief_max_chars" in nulled.json()["message"]
    assert await refused({"file_limits": None}) == {"file_limits"}
    # Only the start is sent, yet the stored end now comes before it: the end is named.
    late_start = (now + timedelta(days=31)).isoformat()
    assert await refused({"upload_from": late_start}) == {"upload_until"}
    early_end = (now + timedelta(days=39)).isoformat()
    assert await refused({"select_until": early_end}) == {"select_until"}
    assert await refused({"certify_until": now.isoformat()}) == {"certify_until"}
    assert await refused({"files_per_outcome": 0}) == {"files_per_outcome"}
    assert await refused({"file_limits": {"mp4": 500 * 2**20}}) == {"file_limits.mp4"}
    assert await refused({"file_limits": {"pdf": None, "png": None}}) == {"file_limits"}
    assert await refused({"file_limits": {"exe": 1}}) == {"file_limits.exe.[key]"}
    assert await refused({"score": 5}) == {"score"}
    assert await refused({"select_from": "2026-09-01T08:00:00"}) == {"select_from"}
    assert (await api.client.get(url, headers=submitter)).json() == stored  # all refused

    # Both bounds moved at once are checked together: a later window is fine.
    moved = await api.client.patch(
        url,
        json={"upload_from": late_start, "upload_until": (now + timedelta(days=60)).isoformat()},
        headers=submitter,
    )
    assert moved.status_code == 200, moved.text


async def test_file_limits_merge_per_kind(course_api: Any) -> None:
    api = course_api
    url = f"/api/course-outcomes/v1/schools/{api.school}/parameters/115/1"
    submitter = {**api.as_roles("course_submitter"), **MERGE_PATCH}
    # On a term nobody set, the patch applies to the defaults (windows stay closed).
    answer = await api.client.patch(
        url,
        json={"file_limits": {"mp4": None, "pdf": 2 * 2**20}},
        headers={**submitter, "if-match": "0"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["file_limits"] == {
        "pdf": 2 * 2**20,
        "jpg": 4 * 2**20,
        "png": 4 * 2**20,
        "mp3": 10 * 2**20,
    }
    assert answer.json()["upload_from"] is None
    assert answer.json()["version"] == 1
    again = await api.client.patch(
        url, json={"file_limits": {"mp4": 8 * 2**20, "mp3": None}}, headers=submitter
    )
    assert again.status_code == 200, again.text
    assert again.json()["file_limits"] == {
        "pdf": 2 * 2**20,
        "jpg": 4 * 2**20,
        "png": 4 * 2**20,
        "mp4": 8 * 2**20,
    }


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
    now = datetime.now(UTC)
    first = [
        api.client.put(
            url, json=_whole(now, uploads_per_semester=n), headers={**submitter, "if-match": "0"}
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
        api.client.patch(
            url,
            json={"uploads_per_semester": n},
            headers={**submitter, **MERGE_PATCH, "if-match": "1"},
        )
        for n in (11, 12, 13, 14)
    ]
    answers = await asyncio.gather(*again)
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409], [r.text for r in answers]
    assert {r.json()["error"] for r in answers if r.status_code == 409} == {"version_conflict"}
    stored = (await api.client.get(url, headers=submitter)).json()
    assert stored["version"] == 2
    winner = next(r.json() for r in answers if r.status_code == 200)
    assert stored == winner
