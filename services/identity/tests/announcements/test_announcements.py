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
    assert sorted(a["title"] for a in teacher.json()) == ["全校公告", "教師研習"]
    student = await api.client.get(base, headers=api.as_roles("student"))
    assert sorted(a["title"] for a in student.json()) == ["全校公告", "學生選課"]
    every = await api.client.get(base + "?include_scheduled=true", headers=admin)
    assert len(every.json()) == 5
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
