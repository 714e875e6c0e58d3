"""學生資料維護: a student changes their own contact fields, never the official ones."""

from __future__ import annotations

import uuid
from typing import Any


async def test_student_updates_own_phone_only(api: Any, seed: Any) -> None:
    await seed(students=2)
    everyone = (
        await api.client.get(
            f"/api/identity/v1/schools/{api.school}/students", headers=api.as_admin()
        )
    ).json()["items"]
    me = everyone[0]
    headers = api.as_roles("student", person_id=uuid.UUID(me["id"]))
    url = f"/api/identity/v1/schools/{api.school}/me/profile"
    updated = await api.client.patch(url, json={"phone": "0912-345-678"}, headers=headers)
    assert updated.status_code == 200, updated.text
    assert updated.json()["phone"] == "0912-345-678"
    assert updated.json()["name"] == me["name"]
    official = await api.client.patch(url, json={"name": "改名"}, headers=headers)
    assert official.status_code == 200
    assert official.json()["name"] == me["name"]
    bad = await api.client.patch(url, json={"phone": "call me"}, headers=headers)
    assert bad.status_code == 422
    teacher = await api.client.patch(url, json={"phone": "0912"}, headers=api.as_admin())
    assert teacher.status_code == 403


async def test_a_new_email_is_announced_for_the_directory_sync(
    api: Any, seed: Any, count_rows: Any
) -> None:
    from licheng.kit.outbox import OutboxMessage

    await seed(students=1)
    [me] = (
        await api.client.get(
            f"/api/identity/v1/schools/{api.school}/students", headers=api.as_admin()
        )
    ).json()["items"]
    before = await count_rows(OutboxMessage)
    url = f"/api/identity/v1/schools/{api.school}/me/profile"
    headers = api.as_roles("student", person_id=uuid.UUID(me["id"]))
    changed = await api.client.patch(url, json={"email": "me@example.tw"}, headers=headers)
    assert changed.status_code == 200
    assert await count_rows(OutboxMessage) == before + 1  # person.upserted: Keycloak follows
    unchanged = await api.client.patch(url, json={"email": "me@example.tw"}, headers=headers)
    assert unchanged.status_code == 200
    assert await count_rows(OutboxMessage) == before + 1
