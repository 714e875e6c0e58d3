"""學生填寫狀況 and 教師認證狀況: counts for course staff, 導師 see their own class only."""

from __future__ import annotations

import uuid
from typing import Any

from licheng.contracts.events import ClassUpserted


async def test_status_counts_for_staff_homeroom_and_teachers(term: Any) -> None:
    extra = await term.api.announce_person(
        kind="student", local_no="110003", name="張同學", class_code="102"
    )
    await term.api.publish(
        ClassUpserted(
            class_id=uuid.uuid4(), class_code="101", grade=1, homeroom_person_id=term.teacher_a
        )
    )

    async def ready() -> bool:
        return await term.known_people() == 5

    await term.api.eventually(ready, "the third student")
    first = await term.new_outcome()
    second = await term.new_outcome(term.COURSE_Y)
    await term.submit(first["id"])
    await term.submit(second["id"])
    await term.decide(first["id"], {"certified": True})
    await term.api.client.put(
        f"{term.base}/me/selections",
        headers=term.student(),
        json={"academic_year": 115, "semester": 1, "outcome_ids": [first["id"]]},
    )
    url = f"{term.base}/status/students"
    params: dict[str, Any] = {
        "academic_year": 115,
        "semester": 1,
        "sort": "certified",
        "order": "desc",
    }
    staff = await term.api.client.get(url, params=params, headers=term.submitter())
    assert staff.status_code == 200, staff.text
    body = staff.json()
    assert body["total"] == 3
    top = body["items"][0]
    assert (
        top["local_no"],
        top["filled"],
        top["submitted"],
        top["certified"],
        top["failed"],
        top["selected"],
    ) == ("110001", 2, 1, 1, 0, 1)
    assert {i["local_no"] for i in body["items"][1:]} == {"110002", "110003"}
    assert (top["class_code"], top["seat_no"], top["name"]) == ("101", 1, "林同學")

    homeroom = term.api.as_roles("homeroom_teacher", person_id=term.teacher_a)

    async def homeroom_known() -> bool:
        mine = await term.api.client.get(
            url, params={"academic_year": 115, "semester": 1}, headers=homeroom
        )
        return mine.status_code == 200 and mine.json()["total"] == 2

    await term.api.eventually(homeroom_known, "the homeroom class")
    mine = await term.api.client.get(
        url, params={"academic_year": 115, "semester": 1}, headers=homeroom
    )
    seen = {row["id"] for row in mine.json()["items"]}
    assert str(extra) not in seen  # class 102's student is not the 101 導師's
    assert seen == {str(term.student_1), str(term.student_2)}
    other_class = await term.api.client.get(
        url,
        params={"academic_year": 115, "semester": 1, "class_code": "102"},
        headers=homeroom,
    )
    assert other_class.json()["total"] == 0
    paged = await term.api.client.get(url, params={**params, "limit": 2}, headers=term.submitter())
    assert paged.json()["next_cursor"]
    student = await term.api.client.get(url, params=params, headers=term.student())
    assert student.status_code == 403
    teachers = await term.api.client.get(
        f"{term.base}/status/teachers",
        params={"academic_year": 115, "semester": 1},
        headers=term.submitter(),
    )
    assert teachers.json()["total"] == 2
    by_no = {t["local_no"]: t for t in teachers.json()["items"]}
    first_page = await term.api.client.get(
        f"{term.base}/status/teachers",
        params={"academic_year": 115, "semester": 1, "limit": 1},
        headers=term.submitter(),
    )
    assert [t["local_no"] for t in first_page.json()["items"]] == ["T001"]
    second_page = await term.api.client.get(
        f"{term.base}/status/teachers",
        params={"academic_year": 115, "semester": 1, "cursor": first_page.json()["next_cursor"]},
        headers=term.submitter(),
    )
    assert [t["local_no"] for t in second_page.json()["items"]] == ["T002"]
    assert (by_no["T001"]["pending"], by_no["T001"]["succeeded"]) == (0, 1)
    assert (by_no["T002"]["pending"], by_no["T002"]["succeeded"]) == (1, 0)
