"""`POST /internal/v1/identifiers`: 身分證號 and birth dates for service tokens only, audited."""

from __future__ import annotations

import uuid
from typing import Any


async def test_internal_identifiers_for_service_tokens_only(api: Any, seed: Any) -> None:
    seeded = await seed(students=3)
    everyone = (
        await api.client.get(
            f"/api/identity/v1/schools/{api.school}/students", headers=api.as_admin()
        )
    ).json()["items"]
    ids = [p["id"] for p in everyone]
    body = {
        "school_code": api.school,
        "student_ids": [*ids, str(uuid.uuid4())],
        "purpose": "export-job-1",
    }
    refused = await api.client.post("/internal/v1/identifiers", json=body, headers=api.as_admin())
    assert refused.status_code == 403
    service = api.issuer.headers(roles=["service"], azp="licheng-exports")
    answer = await api.client.post("/internal/v1/identifiers", json=body, headers=service)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    by_no = {r[0]: r for r in seeded.rows}
    for item in answer.json()["items"]:
        row = next(by_no[p["local_no"]] for p in everyone if p["id"] == item["student_id"])
        assert (item["national_id"], item["birth_date"]) == (row[4], row[5])
    assert len(answer.json()["missing"]) == 1
    audit = await api.client.get(
        f"/api/identity/v1/schools/{api.school}/audit?action=identifiers.disclosed",
        headers=api.as_admin(),
    )
    assert audit.json()["total"] == 1
    assert audit.json()["items"][0]["after"]["client"] == "licheng-exports"
    other_school = "999999" if api.school != "999999" else "999998"
    elsewhere = await api.client.post(
        "/internal/v1/identifiers", json={**body, "school_code": other_school}, headers=service
    )
    assert elsewhere.status_code == 200
    assert elsewhere.json()["items"] == []  # another school's students are not found there
    assert len(elsewhere.json()["missing"]) == 4
