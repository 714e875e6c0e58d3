"""Staff list one student's 多元表現 records: school-wide staff any student of the school, the
導師 the students of their classes; everyone else is refused, nothing leaks across schools."""

from __future__ import annotations

from typing import Any

from .conftest import YEAR


async def listed(filling: Any, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    """The list's answer (200) for these headers and parameters."""
    response = await filling.client.get(
        f"{filling.base}/performances", headers=headers, params=params
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_staff_and_homeroom_teacher_list_a_students_records(filling: Any) -> None:
    school = filling.school
    competition = await filling.create("competition")
    work = await filling.create("work")
    await filling.create("work", student_no="110002")  # another student's: never listed
    proof = await filling.upload(competition["id"], "proof.png", b"\x89PNG\r\n\x1a\n" + bytes(600))
    assert proof.status_code == 201, proof.text
    chosen = await filling.client.put(
        f"{filling.base}/me/selections",
        json={"academic_year": YEAR, "performance_ids": [work["id"]]},
        headers=filling.student(),
    )
    assert chosen.status_code == 200, chosen.text
    student = str(school.students["110001"])
    for role in ("admin", "performance_submitter", "cadre_submitter", None):
        headers = school.homeroom() if role is None else school.as_role(role)
        page = await listed(filling, headers, student_id=student, academic_year=YEAR)
        assert page["total"] == 2
        items = page["items"]
        assert [i["id"] for i in items] == [competition["id"], work["id"]]
        assert [i["category_title"] for i in items] == ["競賽參與", "作品成果"]
        assert [len(i["files"]) for i in items] == [1, 0]
        assert [i["selected"] for i in items] == [False, True]
        assert items[0]["fields"]["name"] == "全國科展"
        assert items[0]["brief"] == "參加全國科展，負責實驗設計。"
        assert items[0]["student"]["student_no"] == "110001"
    admin = school.as_role("admin")
    only_work = await listed(filling, admin, student_id=student, category="work")
    assert [i["id"] for i in only_work["items"]] == [work["id"]]
    assert (await listed(filling, admin, student_id=student, academic_year=YEAR + 1))["total"] == 0
    first = await listed(filling, admin, student_id=student, limit=1)
    assert [i["id"] for i in first["items"]] == [competition["id"]]
    rest = await listed(filling, admin, student_id=student, limit=1, cursor=first["next_cursor"])
    assert [i["id"] for i in rest["items"]] == [work["id"]]
    assert rest["next_cursor"] is None


async def test_students_outside_reach_are_not_found(filling: Any) -> None:
    school = filling.school
    await filling.create("work", student_no="110003")  # class 102: not the 導師's class
    other_class = str(school.students["110003"])
    cases = [
        (school.homeroom(), other_class),  # a student of another class
        (school.as_role("admin"), str(school.homeroom_teacher)),  # staff, not a student
        (school.as_role("admin"), "00000000-0000-4000-8000-000000000000"),  # nobody
    ]
    for headers, student_id in cases:
        response = await filling.client.get(
            f"{filling.base}/performances", headers=headers, params={"student_id": student_id}
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "student_not_found"
        assert "找不到此學生" in response.json()["message"]


async def test_students_and_other_roles_are_refused(filling: Any) -> None:
    school = filling.school
    await filling.create("work")
    own = str(school.students["110001"])
    for headers in (filling.student(), school.as_role("performance_item_manager"),
                    school.as_role("course_teacher")):  # fmt: skip
        response = await filling.client.get(
            f"{filling.base}/performances", headers=headers, params={"student_id": own}
        )
        assert response.status_code == 403, response.text
    # another school's staff never see this school's students
    other = f"{(int(filling.api.school) + 1) % 10**6:06d}"
    outsider = filling.api.issuer.headers(
        person_id=school.students["110002"], groups=[f"/schools/{other}/admin"]
    )
    response = await filling.client.get(
        f"{filling.base}/performances", headers=outsider, params={"student_id": own}
    )
    assert response.status_code == 403, response.text


async def test_bad_parameters_are_refused(filling: Any) -> None:
    admin, own = filling.school.as_role("admin"), str(filling.school.students["110001"])
    for params in ({}, {"student_id": "x"}, {"student_id": own, "academic_year": 99},
                   {"student_id": own, "category": "nope"}):  # fmt: skip
        response = await filling.client.get(
            f"{filling.base}/performances", headers=admin, params=params
        )
        assert response.status_code == 422, (params, response.text)
