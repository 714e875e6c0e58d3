"""Certifier integrity: who may certify is derived from the 修課紀錄, reassignment only to someone
who can act, and the queue and outcome show who is who."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import select

from licheng.course_outcomes.models import CourseSection, Outcome

COURSE_Z = "108011302H11101A1020101"


async def _outcome_row(term: Any, outcome_id: str) -> Outcome:
    async with term.api.app.state.session_factory() as session:
        found = (
            await session.exec(select(Outcome).where(Outcome.id == uuid.UUID(outcome_id)))
        ).one()
        return found


async def _staff(term: Any, local_no: str, name: str, *roles: str) -> uuid.UUID:
    before = await term.known_people()
    person = await term.api.announce_person(kind="staff", local_no=local_no, name=name)
    if roles:
        await term.api.announce_roles(person, *roles)

    async def known() -> bool:
        return await term.known_people() == before + 1

    await term.api.eventually(known, f"staff {local_no}")
    return person


async def test_the_queue_names_each_student_and_the_certifier_opens_the_outcome(term: Any) -> None:
    outcome = await term.new_outcome()
    await term.submit(outcome["id"])
    queue = await term.api.client.get(f"{term.base}/certifications", headers=term.teacher("a"))
    assert queue.status_code == 200, queue.text
    [item] = queue.json()["items"]
    assert item["student"] == {
        "id": str(term.student_1),
        "student_no": "110001",
        "name": "林同學",
        "class_code": "101",
        "seat_no": 1,
    }
    assert item["certifier"]["name"] == "陳老師"
    assert item["certifier"]["staff_no"] == "T001"
    opened = await term.api.client.get(
        f"{term.base}/outcomes/{outcome['id']}", headers=term.teacher("a")
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["student"]["name"] == "林同學"
    link = await term.api.client.get(
        f"{term.base}/outcomes/{outcome['id']}/files/document", headers=term.teacher("a")
    )
    assert link.status_code == 200, link.text
    # Another teacher neither sees it in a queue nor opens it.
    other = await term.api.client.get(
        f"{term.base}/outcomes/{outcome['id']}", headers=term.teacher("b")
    )
    assert other.status_code == 404
    courses = await term.api.client.get(
        f"{term.base}/me/courses",
        params={"academic_year": 115, "semester": 1},
        headers=term.student(),
    )
    assert {c["certifier"]["name"] for c in courses.json()} == {"陳老師", "王老師"}


async def test_the_queue_filters_by_class_and_course(term: Any) -> None:
    first = await term.new_outcome(which=1)
    second = await term.new_outcome(which=2)
    for outcome, which in ((first, 1), (second, 2)):
        assert (await term.submit(outcome["id"], which)).status_code == 200
    url = f"{term.base}/certifications"
    by_class = await term.api.client.get(
        url, params={"class_code": "101", "sort": "student_no", "order": "desc"},
        headers=term.teacher("a"),
    )  # fmt: skip
    assert [o["student"]["student_no"] for o in by_class.json()["items"]] == ["110002", "110001"]
    elsewhere = await term.api.client.get(
        url, params={"class_code": "102"}, headers=term.teacher("a")
    )
    assert elsewhere.json()["total"] == 0
    by_course = await term.api.client.get(
        url, params={"course_code": term.COURSE_Y}, headers=term.teacher("a")
    )
    assert by_course.json()["total"] == 0


async def test_a_teacher_named_in_the_course_records_certifies_without_a_grant(term: Any) -> None:
    homeroom_only = await _staff(term, "T003", "李導師", "homeroom_teacher")
    rows = "\n".join((*term.ROWS, f"115,1,110001,{COURSE_Z},國語文選讀,2,1,T003,學期課程"))
    imported = await term.api.client.post(
        f"{term.base}/course-records/imports",
        params={"academic_year": 115, "semester": 1},
        files={"file": ("修課紀錄.csv", (term.HEADER + rows).encode("cp950"))},
        headers=term.submitter(),
    )
    assert imported.status_code == 200, imported.text
    outcome = await term.new_outcome(COURSE_Z)
    await term.submit(outcome["id"])
    headers = term.api.as_roles("homeroom_teacher", person_id=homeroom_only)
    queue = await term.api.client.get(f"{term.base}/certifications", headers=headers)
    assert queue.status_code == 200, queue.text
    assert [o["id"] for o in queue.json()["items"]] == [outcome["id"]]
    decided = await term.api.client.post(
        f"{term.base}/outcomes/{outcome['id']}/certification",
        json={"certified": True},
        headers=headers,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["decided_by"]["name"] == "李導師"
    # Someone neither granted nor named in the records is not a certifier.
    counselor = await _staff(term, "T004", "周輔導", "counselor")
    refused = await term.api.client.get(
        f"{term.base}/certifications", headers=term.api.as_roles("counselor", person_id=counselor)
    )
    assert refused.status_code == 403


async def test_reassignment_only_to_someone_who_can_act(term: Any) -> None:
    counselor = await _staff(term, "T004", "周輔導", "counselor")
    granted = await _staff(term, "T005", "鄭老師", "course_teacher")
    outcome = await term.new_outcome()
    await term.submit(outcome["id"])
    url = f"{term.base}/outcomes/{outcome['id']}/certifier"
    refused = await term.api.client.put(
        url, json={"teacher_id": str(counselor)}, headers=term.submitter()
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "not_a_certifier"
    assert "周輔導" in refused.json()["message"]
    assert (await _outcome_row(term, outcome["id"])).certifier_id == term.teacher_a
    sections = await term.api.client.get(
        f"{term.base}/sections", params={"academic_year": 115, "semester": 1},
        headers=term.submitter(),
    )  # fmt: skip
    section = next(s for s in sections.json()["items"] if s["course_code"] == term.COURSE_X)
    whole = await term.api.client.put(
        f"{term.base}/sections/{section['id']}/certifier",
        json={"teacher_id": str(counselor)},
        headers=term.submitter(),
    )
    assert whole.status_code == 409
    async with term.api.app.state.session_factory() as session:
        stored = await session.get(CourseSection, uuid.UUID(section["id"]))
        assert stored is not None
        assert stored.certifier_id == term.teacher_a
    # A student is not a teacher at all.
    student = await term.api.client.put(
        url, json={"teacher_id": str(term.student_2)}, headers=term.submitter()
    )
    assert student.status_code == 404
    moved = await term.api.client.put(
        url, json={"teacher_id": str(granted)}, headers=term.submitter()
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["certifier"]["name"] == "鄭老師"
    decided = await term.api.client.post(
        f"{term.base}/outcomes/{outcome['id']}/certification",
        json={"certified": True},
        headers=term.api.as_roles("course_teacher", person_id=granted),
    )
    assert decided.status_code == 200, decided.text
    again = await term.api.client.put(
        url, json={"teacher_id": str(term.teacher_b)}, headers=term.submitter()
    )
    assert again.status_code == 409
    assert again.json()["error"] == "outcome_already_certified"
    assert "取消認證" in again.json()["message"]
    assert (await _outcome_row(term, outcome["id"])).certifier_id == granted
