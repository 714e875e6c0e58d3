"""Creating a school: the district operator only, with a unique six-digit code."""

from __future__ import annotations

import random
from typing import Any

import pytest


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


async def test_one_school_code_created_at_once_is_created_once(api: Any) -> None:
    import asyncio

    code = "0" + api.school[1:] if api.school[0] != "0" else "9" + api.school[1:]
    body = {"code": code, "name": "同時建立高中", "academic_year": 115, "semester": 1,
            "admin": {"staff_no": "A001", "name": "管理者"}}  # fmt: skip
    answers = await asyncio.gather(
        *(
            api.client.post("/api/identity/v1/schools", json=body, headers=api.operator())
            for _ in range(3)
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes[0] == 201
    assert codes[1:] == [409, 409], [a.text for a in answers]


@pytest.mark.parametrize("code", ["０９９９０１", "٠٩٩٩٠١", "99901", "0999011"])
async def test_school_codes_are_six_ascii_digits(api: Any, code: str) -> None:
    body = {"code": code, "name": "相似學校", "academic_year": 115, "semester": 1,
            "admin": {"staff_no": "A001", "name": "管理者"}}  # fmt: skip
    refused = await api.client.post("/api/identity/v1/schools", json=body, headers=api.operator())
    assert refused.status_code == 422
    listed = await api.client.get(f"/api/identity/v1/schools/{code}", headers=api.operator())
    assert listed.status_code == 404


async def test_a_forged_cursor_is_a_bad_request(api: Any) -> None:
    import base64
    import json

    forged = base64.urlsafe_b64encode(json.dumps({"o": 10**30}).encode()).decode().rstrip("=")
    for cursor in (forged, "not-a-cursor", base64.urlsafe_b64encode(b'{"o": -1}').decode()):
        answer = await api.client.get(
            f"/api/identity/v1/schools/{api.school}/students",
            params={"cursor": cursor},
            headers=api.as_admin(),
        )
        assert answer.status_code == 400, (cursor, answer.text)
        assert answer.json()["error"] == "cursor_invalid"
