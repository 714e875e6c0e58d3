"""公告: who reads which announcements when, and editing them with a version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


async def test_announcements_schedule_audience_and_versions(api: Any) -> None:
    base = f"/api/identity/v1/schools/{api.school}/announcements"
    admin = api.as_admin()
    now = datetime.now(UTC)
    posts = [
        {"title": "全校公告", "body": "週五停課", "audience": "all"},
        {"title": "教師研習", "body": "下午三點", "audience": "staff"},
        {"title": "學生選課", "body": "請於期限內選課", "audience": "students"},
        {
            "title": "下週公告",
            "body": "尚未上架",
            "audience": "all",
            "publish_from": (now + timedelta(days=7)).isoformat(),
        },
        {
            "title": "已下架",
            "body": "過期",
            "audience": "all",
            "publish_from": (now - timedelta(days=7)).isoformat(),
            "publish_until": (now - timedelta(days=1)).isoformat(),
        },
    ]
    created = [await api.client.post(base, json=p, headers=admin) for p in posts]
    assert all(r.status_code == 201 for r in created)
    teacher = await api.client.get(base, headers=api.as_roles("course_teacher"))
    assert sorted(a["title"] for a in teacher.json()["items"]) == ["全校公告", "教師研習"]
    student = await api.client.get(base, headers=api.as_roles("student"))
    assert sorted(a["title"] for a in student.json()["items"]) == ["全校公告", "學生選課"]
    every = await api.client.get(base + "?include_scheduled=true", headers=admin)
    assert every.json()["total"] == 5
    assert len(every.json()["items"]) == 5
    paged = await api.client.get(base + "?include_scheduled=true&limit=2", headers=admin)
    assert (len(paged.json()["items"]), paged.json()["total"]) == (2, 5)
    assert paged.json()["next_cursor"]
    assert (
        await api.client.get(base + "?include_scheduled=true", headers=api.as_roles("student"))
    ).status_code == 403
    first = created[0].json()
    url = f"{base}/{first['id']}"
    edited = await api.client.patch(
        url, json={"body": "週五下午停課"}, headers={**admin, "if-match": str(first["version"])}
    )
    assert edited.status_code == 200
    assert edited.json()["version"] == 2
    stale = await api.client.patch(
        url, json={"body": "再改"}, headers={**admin, "if-match": str(first["version"])}
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == "version_conflict"
    assert (
        await api.client.post(base, json=posts[0], headers=api.as_roles("course_teacher"))
    ).status_code == 403
    assert (await api.client.delete(url, headers=admin)).status_code == 204
    assert (await api.client.delete(url, headers=admin)).status_code == 404


async def test_an_edit_cannot_blank_a_required_field(api: Any) -> None:
    base = f"/api/identity/v1/schools/{api.school}/announcements"
    admin = api.as_admin()
    now = datetime.now(UTC)
    created = await api.client.post(
        base,
        json={
            "title": "校慶",
            "body": "十一月",
            "publish_until": (now + timedelta(days=3)).isoformat(),
        },
        headers=admin,
    )
    url = f"{base}/{created.json()['id']}"
    for field in ("title", "body", "audience", "publish_from"):
        refused = await api.client.patch(url, json={field: None}, headers=admin)
        assert refused.status_code == 422, (field, refused.text)
        assert field in refused.json()["message"]
    cleared = await api.client.patch(url, json={"publish_until": None}, headers=admin)
    assert cleared.status_code == 200
    assert (cleared.json()["publish_until"], cleared.json()["title"]) == (None, "校慶")
