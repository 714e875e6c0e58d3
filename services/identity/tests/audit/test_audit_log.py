"""稽核紀錄: the admin reads the audit log, filtered by date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


async def test_audit_log_filters_by_date(api: Any, seed: Any) -> None:
    await seed(students=1)
    base = f"/api/identity/v1/schools/{api.school}/audit"
    now = datetime.now(UTC)
    recent = await api.client.get(
        base, params={"since": (now - timedelta(minutes=5)).isoformat()}, headers=api.as_admin()
    )
    assert recent.json()["total"] > 0
    future = await api.client.get(
        base, params={"since": (now + timedelta(minutes=5)).isoformat()}, headers=api.as_admin()
    )
    assert future.json()["total"] == 0
    before = await api.client.get(
        base, params={"until": (now - timedelta(days=1)).isoformat()}, headers=api.as_admin()
    )
    assert before.json()["total"] == 0
    teacher = await api.client.get(base, headers=api.as_roles("course_teacher"))
    assert teacher.status_code == 403
