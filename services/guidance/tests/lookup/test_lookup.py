"""Looking up students and classes: counselors and school-wide staff see the whole school's
enrolled students (學號, name, class, seat — nothing else), a 導師 only their classes, a
student nobody; search by 學號 or name, filter by class, pagination."""

from __future__ import annotations

import uuid
from typing import Any

from licheng.contracts.events import PersonUpserted
from licheng.kit.roster import KnownPerson


async def found(school: Any, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    """The lookup's answer (200) for these headers and parameters."""
    response = await school.api.client.get(
        f"{school.base}/students", headers=headers, params=params
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def numbers(answer: dict[str, Any]) -> list[str]:
    return [s["student_no"] for s in answer["items"]]


async def test_counselor_finds_enrolled_students_by_number_name_and_class(school: Any) -> None:
    api = school.api
    graduate = uuid.uuid4()
    await api.publish(
        PersonUpserted(person_id=graduate, kind="student", local_no="109009", name="林畢業",
                       username="s109009", class_code="101", seat_no=9, status="畢業")
    )  # fmt: skip

    async def ready() -> bool:
        return await api.count(KnownPerson) == 6

    await api.eventually(ready, "the graduate")
    counselor = school.counselor()
    everyone = await found(school, counselor)
    assert numbers(everyone) == ["110001", "110002", "110003"]  # 班級, 座號; no graduate
    assert everyone["total"] == 3
    first = everyone["items"][0]
    assert first == {"id": str(school.students["110001"]), "student_no": "110001",
                     "name": "林同學", "class_code": "101", "seat_no": 1}  # fmt: skip
    assert numbers(await found(school, counselor, q="10002")) == ["110002"]
    assert numbers(await found(school, counselor, q="林")) == ["110001"]
    assert numbers(await found(school, counselor, q="同學", class_code="102")) == ["110003"]
    assert numbers(await found(school, counselor, q="%")) == []  # literal, not a wildcard
    assert numbers(await found(school, counselor, class_code="999")) == []
    picked = await found(
        school, counselor, id=[str(school.students["110003"]), str(school.students["110001"])]
    )
    assert numbers(picked) == ["110001", "110003"]
    for role in ("admin", "performance_submitter"):
        assert numbers(await found(school, school.as_role(role))) == ["110001", "110002", "110003"]


async def test_lists_are_paginated(school: Any) -> None:
    counselor = school.counselor()
    first = await found(school, counselor, limit=2)
    assert numbers(first) == ["110001", "110002"]
    assert first["total"] == 3
    second = await found(school, counselor, limit=2, cursor=first["next_cursor"])
    assert numbers(second) == ["110003"]
    assert second["next_cursor"] is None


async def test_classes_with_grade_and_enrolled_students(school: Any) -> None:
    response = await school.api.client.get(f"{school.base}/classes", headers=school.counselor())
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [
        {"class_code": "101", "grade": 1, "students": 2},
        {"class_code": "102", "grade": 1, "students": 1},
    ]


async def test_homeroom_teacher_sees_only_own_class(school: Any) -> None:
    homeroom = school.homeroom("101")
    assert numbers(await found(school, homeroom)) == ["110001", "110002"]
    assert numbers(await found(school, homeroom, class_code="102")) == []
    assert numbers(await found(school, homeroom, q="110003")) == []
    response = await school.api.client.get(f"{school.base}/classes", headers=homeroom)
    assert [c["class_code"] for c in response.json()["items"]] == ["101"]


async def test_students_and_other_staff_are_refused(school: Any) -> None:
    client = school.api.client
    for headers in (school.student("110001"), school.as_role("course_teacher")):
        for path in ("students", "classes"):
            response = await client.get(f"{school.base}/{path}", headers=headers)
            assert response.status_code == 403, response.text
            assert response.json()["error"] == "lookup_forbidden"
            assert "課程諮詢教師" in response.json()["message"]


async def test_bad_parameters_are_refused(school: Any) -> None:
    client, counselor = school.api.client, school.counselor()
    for params in ({"q": "x" * 51}, {"class_code": "x" * 21}, {"id": "not-a-uuid"},
                   {"limit": 0}):  # fmt: skip
        response = await client.get(f"{school.base}/students", headers=counselor, params=params)
        assert response.status_code == 422, (params, response.text)
