"""權限設定: granting and revoking roles needs the admin, derived roles refuse, both are audited."""

from __future__ import annotations

from typing import Any


async def test_grants_need_permissions_manage_and_are_audited(api: Any, seed: Any) -> None:
    seeded = await seed(students=0)
    teacher = seeded.staff["T002"]["id"]
    url = f"/api/identity/v1/schools/{api.school}/staff/{teacher}/roles/course_teacher"
    refused = await api.client.put(url, headers=api.as_roles("course_submitter"))
    assert refused.status_code == 403
    assert (await api.client.put(url, headers=api.as_admin())).status_code == 201
    assert (await api.client.put(url, headers=api.as_admin())).status_code == 200
    not_grantable = await api.client.put(
        url.replace("course_teacher", "student"), headers=api.as_admin()
    )
    assert not_grantable.status_code == 400
    assert (await api.client.delete(url, headers=api.as_admin())).status_code == 204
    audit = await api.client.get(
        f"/api/identity/v1/schools/{api.school}/audit?person_id={teacher}&action=grant.granted",
        headers=api.as_admin(),
    )
    assert audit.status_code == 200
    assert audit.json()["total"] == 1
    assert audit.json()["items"][0]["after"]["role"] == "course_teacher"
    revoked = await api.client.get(
        f"/api/identity/v1/schools/{api.school}/audit?action=grant.revoked", headers=api.as_admin()
    )
    assert revoked.json()["total"] == 1


async def test_the_same_grant_sent_at_once_is_granted_once(api: Any, seed: Any) -> None:
    import asyncio

    seeded = await seed(students=0)
    teacher = seeded.staff["T003"]["id"]
    url = f"/api/identity/v1/schools/{api.school}/staff/{teacher}/roles/course_teacher"
    answers = await asyncio.gather(*(api.client.put(url, headers=api.as_admin()) for _ in range(4)))
    codes = sorted(a.status_code for a in answers)
    assert 500 not in codes, [a.text for a in answers]
    assert codes.count(201) == 1
    assert set(codes) <= {200, 201, 409}
    listed = await api.client.get(
        f"/api/identity/v1/schools/{api.school}/grants", headers=api.as_admin()
    )
    assert [g["role"] for g in listed.json()["items"] if g["person_id"] == teacher] == [
        "course_teacher"
    ]
