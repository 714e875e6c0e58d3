"""Creating a school: the district operator only, with a unique six-digit code."""

from __future__ import annotations

import random
from typing import Any


async def test_operator_only_creates_schools(api: Any) -> None:
    payload = {
        "code": f"{random.randrange(10**6):06d}",
        "name": "另一校",
        "academic_year": 115,
        "semester": 1,
        "admin": {"staff_no": "X1", "name": "管理者"},
    }
    refused = await api.client.post(
        "/api/identity/v1/schools", json=payload, headers=api.as_admin()
    )
    assert refused.status_code == 403
    duplicate = await api.client.post(
        "/api/identity/v1/schools", json={**payload, "code": api.school}, headers=api.operator()
    )
    assert duplicate.status_code == 409
    bad_code = await api.client.post(
        "/api/identity/v1/schools", json={**payload, "code": "12345"}, headers=api.operator()
    )
    assert bad_code.status_code == 422
