"""Staff read outcomes: course staff list and filter the term's; a 導師 opens their own class's."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import select

from licheng.contracts.events import ClassUpserted
from licheng.course_outcomes.models import KnownClass


async def _homeroom(term: Any, class_code: str, local_no: str) -> dict[str, str]:
    teacher = await term.api.announce_person(
        kind="staff", local_no=local_no, name=f"導師{local_no}"
    )
    await term.api.publish(
        ClassUpserted(class_id=uuid.uuid4(), class_code=class_code, grade=1,
                      homeroom_person_id=teacher)
    )  # fmt: skip

    async def known() -> bool:
        async with term.api.app.state.session_factory() as session:
            found = (
                await session.exec(select(KnownClass).where(KnownClass.class_code == class_code))
            ).first()
            return found is not None and found.homeroom_person_id == teacher

    await term.api.eventually(known, f"the 導師 of {class_code}")
    return term.api.as_roles("homeroom_teacher", person_id=teacher)


async def test_a_homeroom_teacher_opens_their_class_only(term: Any) -> None:
    mine = await _homeroom(term, "101", "T101")
    theirs = await _homeroom(term, "102", "T102")
    outcome = await term.new_outcome()
    opened = await term.api.client.get(f"{term.base}/outcomes/{outcome['id']}", headers=mine)
    assert opened.status_code == 200, opened.text
    assert opened.json()["student"]["seat_no"] == 1
    hidden = await term.api.client.get(f"{term.base}/outcomes/{outcome['id']}", headers=theirs)
    assert hidden.status_code == 404
    link = await term.api.client.get(
        f"{term.base}/outcomes/{outcome['id']}/files/document", headers=theirs
    )
    assert link.status_code == 404
    term_params = {"academic_year": 115, "semester": 1}
    listed = await term.api.client.get(f"{term.base}/outcomes", params=term_params, headers=mine)
    assert listed.status_code == 200, listed.text
    assert [o["id"] for o in listed.json()["items"]] == [outcome["id"]]
    drill = await term.api.client.get(
        f"{term.base}/outcomes",
        params={**term_params, "student_id": str(term.student_1)},
        headers=mine,
    )
    assert drill.json()["total"] == 1
    nothing = await term.api.client.get(f"{term.base}/outcomes", params=term_params, headers=theirs)
    assert nothing.json()["total"] == 0
    asked = await term.api.client.get(
        f"{term.base}/outcomes", params={**term_params, "class_code": "101"}, headers=theirs
    )
    assert asked.json()["total"] == 0
    # Read-only: a 導師 cannot edit the student's outcome.
    edit = await term.api.client.patch(
        f"{term.base}/outcomes/{outcome['id']}", json={"brief": "改寫"}, headers=mine
    )
    assert edit.status_code == 403


async def test_course_staff_list_and_filter_every_outcome(term: Any) -> None:
    first = await term.new_outcome(which=1)
    second = await term.new_outcome(which=2)
    third = await term.new_outcome(term.COURSE_Y, which=1)
    await term.submit(first["id"])
    await term.submit(third["id"])
    assert (await term.decide(first["id"], {"certified": True})).status_code == 200
    url = f"{term.base}/outcomes"
    base = {"academic_year": 115, "semester": 1}

    async def ids(**params: Any) -> list[str]:
        answer = await term.api.client.get(url, params={**base, **params}, headers=term.submitter())
        assert answer.status_code == 200, answer.text
        return [o["id"] for o in answer.json()["items"]]

    assert set(await ids()) == {first["id"], second["id"], third["id"]}
    assert await ids(status="certified") == [first["id"]]
    assert await ids(status="draft") == [second["id"]]
    assert await ids(course_code=term.COURSE_Y) == [third["id"]]
    assert await ids(certifier_id=str(term.teacher_b)) == [third["id"]]
    assert set(await ids(class_code="101")) == {first["id"], second["id"], third["id"]}
    assert await ids(class_code="102") == []
    by_student = await ids(sort="student_no", order="desc")
    assert by_student[0] == second["id"]
    assert await ids(academic_year=114) == []
    paged = await term.api.client.get(url, params={**base, "limit": 2}, headers=term.submitter())
    assert paged.json()["total"] == 3
    assert len(paged.json()["items"]) == 2
    student = await term.api.client.get(url, params=base, headers=term.student())
    assert student.status_code == 403
    teacher = await term.api.client.get(url, params=base, headers=term.teacher("a"))
    assert teacher.status_code == 403
