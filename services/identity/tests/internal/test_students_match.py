"""`POST /internal/v1/students/match`: (身分證號, 出生日期) → student ids, service tokens only,
audited, and the values never in the answer or the audit row."""

from __future__ import annotations

import uuid
from typing import Any


async def test_students_match_by_national_id_and_birth_date_for_services_only(
    api: Any, seed: Any
) -> None:
    seeded = await seed(students=3)
    everyone = (
        await api.client.get(
            f"/api/identity/v1/schools/{api.school}/students", headers=api.as_admin()
        )
    ).json()["items"]
    id_of = {p["local_no"]: p["id"] for p in everyone}
    first, second = seeded.rows[0], seeded.rows[1]
    born, other_born = str(first[5]), str(second[5])  # ISO, as the students file had them
    body = {
        "school_code": api.school,
        "entries": [
            {"national_id": first[4].lower(), "birth_date": born},  # case does not matter
            {"national_id": second[4], "birth_date": "1999-01-01"},  # wrong 出生日期: no match
            {"national_id": "A123456789", "birth_date": other_born},  # nobody of the school
            {"national_id": second[4], "birth_date": other_born},
        ],
        "purpose": "收訖明細匯入 test",
    }
    person = await api.client.post("/internal/v1/students/match", json=body, headers=api.as_admin())
    assert person.status_code == 403
    assert person.json()["error"] == "service_only"
    service = api.issuer.headers(roles=["service"], azp="licheng-exports")
    answer = await api.client.post("/internal/v1/students/match", json=body, headers=service)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json()["student_ids"] == [id_of[str(first[0])], None, None, id_of[str(second[0])]]
    audit = await api.client.get(
        f"/api/identity/v1/schools/{api.school}/audit?action=students.matched",
        headers=api.as_admin(),
    )
    [entry] = audit.json()["items"]
    assert entry["after"]["client"] == "licheng-exports"
    assert entry["after"]["asked"] == 4
    assert sorted(entry["after"]["student_ids"]) == sorted(
        [id_of[str(first[0])], id_of[str(second[0])]]
    )
    for value in (first[4], second[4], born, other_born):
        assert value not in str(entry)
    other_school = "999999" if api.school != "999999" else "999998"
    elsewhere = await api.client.post(
        "/internal/v1/students/match", json={**body, "school_code": other_school}, headers=service
    )
    assert elsewhere.json()["student_ids"] == [None, None, None, None]
    assert uuid.UUID(answer.json()["student_ids"][0])
