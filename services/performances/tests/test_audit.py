"""稽核紀錄 in performances: the school admin reads who changed what, and only they."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any


async def test_the_admin_reads_the_parameters_changes(school: Any) -> None:
    opened = await school.open_windows()
    url = f"{school.base}/parameters/115"
    patched = await school.api.client.patch(
        url,
        json={"selections_per_year": 8},
        headers={**school.as_role("performance_submitter"), "if-match": str(opened["version"])},
    )
    assert patched.status_code == 200, patched.text
    submitter = school.staff["performance_submitter"]
    admin = school.api.as_roles("admin", person_id=uuid.uuid4())
    audit = f"{school.base}/audit"

    answer = await school.api.client.get(
        audit, params={"entity": "parameters", "action": "parameters.updated"}, headers=admin
    )
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["total"] == 2
    newest, first = page["items"]
    assert (newest["entity"], newest["entity_id"], newest["actor_id"]) == (
        "parameters", "115", str(submitter)
    )  # fmt: skip
    assert newest["before"]["selections_per_year"] == 10
    assert newest["after"]["selections_per_year"] == 8
    assert first["before"] is None  # the year had no parameters stored until the first change
    assert first["after"]["fill_from"] is not None
    assert datetime.fromisoformat(newest["occurred_at"]) >= datetime.fromisoformat(
        first["occurred_at"]
    )

    # The filters apply: nothing of another entity, action, person or time.
    for params in ({"entity": "roster"}, {"action": "roster.reopened"},
                   {"person_id": str(uuid.uuid4())},
                   {"since": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()}):  # fmt: skip
        empty = await school.api.client.get(audit, params=params, headers=admin)
        assert empty.json() == {"items": [], "next_cursor": None, "total": 0}, params
    by_person = await school.api.client.get(
        audit, params={"person_id": str(submitter)}, headers=admin
    )
    assert by_person.json()["total"] == 2
    one = await school.api.client.get(audit, params={"limit": 1}, headers=admin)
    assert one.json()["next_cursor"] is not None


async def test_only_the_schools_admin_reads_the_audit_log(school: Any) -> None:
    await school.open_windows()
    audit = f"{school.base}/audit"
    for headers in (school.student(), school.homeroom(), school.as_role("performance_submitter"),
                    school.as_role("cadre_submitter")):  # fmt: skip
        refused = await school.api.client.get(audit, headers=headers)
        assert refused.status_code == 403, refused.text
        assert "items" not in refused.text
    anonymous = await school.api.client.get(audit)
    assert anonymous.status_code == 401
    other = f"{(int(school.api.school) + 1) % 10**6:06d}"
    outsider = school.api.issuer.headers(person_id=uuid.uuid4(), groups=[f"/schools/{other}/admin"])
    refused = await school.api.client.get(audit, headers=outsider)
    assert refused.status_code == 403
    assert "items" not in refused.text
