"""The students list: who sees which students, and paging through it with a cursor."""

from __future__ import annotations

import uuid
from typing import Any


async def test_scopes_homeroom_sees_own_class_and_student_sees_self(api: Any, seed: Any) -> None:
    seeded = await seed(students=12)
    teacher = seeded.staff["T001"]  # 導師 of 101
    url = f"/api/identity/v1/schools/{api.school}/students?limit=200"
    mine = await api.client.get(
        url, headers=api.as_roles("homeroom_teacher", person_id=uuid.UUID(teacher["id"]))
    )
    assert mine.status_code == 200
    assert {p["class_code"] for p in mine.json()["items"]} == {"101"}
    everyone = (await api.client.get(url, headers=api.as_admin())).json()
    student = everyone["items"][0]
    own = await api.client.get(
        url, headers=api.as_roles("student", person_id=uuid.UUID(student["id"]))
    )
    assert [p["id"] for p in own.json()["items"]] == [student["id"]]


async def test_pagination_with_cursor(api: Any, seed: Any) -> None:
    await seed(students=25)
    url = f"/api/identity/v1/schools/{api.school}/students?limit=10"
    seen: list[str] = []
    cursor = ""
    while True:
        page = (await api.client.get(url + cursor, headers=api.as_admin())).json()
        assert page["total"] == 25
        seen += [p["id"] for p in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert len(seen) == len(set(seen)) == 25
    bad = await api.client.get(url + "&cursor=bm9wZQ", headers=api.as_admin())
    assert bad.status_code == 400
