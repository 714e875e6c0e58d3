"""Schools are tenants: the admin of one school reaches nothing of another."""

from __future__ import annotations

from typing import Any


async def test_admin_of_one_school_cannot_touch_another(api: Any, seed: Any) -> None:
    await seed(students=2)
    other = f"{(int(api.school) + 1) % 10**6:06d}"
    outsider = api.issuer.headers(groups=[f"/schools/{other}/admin"])
    base = f"/api/identity/v1/schools/{api.school}"
    for method, path in (
        ("GET", "/students"),
        ("GET", "/staff"),
        ("GET", "/audit"),
        ("GET", ""),
        ("POST", "/announcements"),
    ):
        response = await api.client.request(
            method, base + path, headers=outsider, json={"title": "x", "body": "y"}
        )
        assert response.status_code in (403, 404), (path, response.status_code)
        assert "items" not in response.text
