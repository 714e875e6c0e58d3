"""課程 and 班級 breakdowns, 座號 and the course filter of the student list, teacher filter."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any


def _counts(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(row[k] for k in ("filled", "submitted", "certified", "failed", "selected"))


async def test_per_course_breakdown_for_course_staff(filled_term: Any) -> None:
    t = filled_term
    term = t.term
    rows = await t.items("courses")
    assert [r["course_code"] for r in rows] == [term.COURSE_X, term.COURSE_Y]
    x, y = rows
    assert (x["subject_name"], x["grade"], x["teacher_no"], x["teacher_name"]) == (
        "國語文", 1, "T001", "陳老師",
    )  # fmt: skip
    assert (x["teacher_id"], x["certifier_id"], x["certifier_name"]) == (
        str(term.teacher_a), str(term.teacher_a), "陳老師",
    )  # fmt: skip
    # 林同學 and 吳同學 take 國語文: one certified and selected, one draft, one failed.
    assert x["students"] == 2
    assert _counts(x) == (3, 0, 1, 1, 1)
    assert (y["subject_name"], y["teacher_no"], y["teacher_name"], y["certifier_name"]) == (
        "數學", "T002", "王老師", "王老師",
    )  # fmt: skip
    assert y["students"] == 1
    assert _counts(y) == (1, 1, 0, 0, 0)

    by_code = await t.items("courses", course_code=term.COURSE_Y.lower())
    assert [r["section_id"] for r in by_code] == [y["section_id"]]
    by_teacher = await t.items("courses", teacher_id=str(term.teacher_b))
    assert [r["section_id"] for r in by_teacher] == [y["section_id"]]
    assert await t.items("courses", teacher_id=str(uuid.uuid4())) == []
    both = await t.items("courses", course_code=term.COURSE_X, teacher_id=str(term.teacher_b))
    assert both == []

    first = await t.get("courses", term.submitter(), limit=1)
    assert first.json()["total"] == 2
    assert [r["course_code"] for r in first.json()["items"]] == [term.COURSE_X]
    second = await t.get("courses", term.submitter(), cursor=first.json()["next_cursor"])
    assert [r["course_code"] for r in second.json()["items"]] == [term.COURSE_Y]
    assert second.json()["next_cursor"] is None

    other_term = await t.get("courses", term.submitter(), semester=2)
    assert other_term.json() == {"items": [], "next_cursor": None, "total": 0}
    for headers in (t.homeroom(), term.student(), term.teacher("b")):
        refused = await t.get("courses", headers)
        assert refused.status_code == 403, refused.text


async def test_per_class_breakdown_and_the_homeroom_teachers_view(
    filled_term: Any,
) -> None:
    t = filled_term
    term = t.term
    rows = await t.items("classes")
    assert [r["class_code"] for r in rows] == ["101", "102"]
    mine, other = rows
    assert (mine["grade"], mine["homeroom_id"], mine["homeroom_name"]) == (
        1, str(term.teacher_a), "陳老師",
    )  # fmt: skip
    assert (mine["students"], mine["students_with_outcomes"]) == (2, 2)
    assert _counts(mine) == (4, 1, 1, 1, 1)
    # Class 102 was never announced: it is listed for its enrolled student, without grade or 導師.
    assert (other["grade"], other["homeroom_id"], other["homeroom_name"]) == (None, None, None)
    assert (other["students"], other["students_with_outcomes"]) == (1, 0)
    assert _counts(other) == (0, 0, 0, 0, 0)
    # The classes add up to the student list.
    students = await t.items("students")
    for name in ("filled", "submitted", "certified", "failed", "selected"):
        assert sum(r[name] for r in rows) == sum(s[name] for s in students)

    assert [r["class_code"] for r in await t.items("classes", grade=1)] == ["101"]
    assert await t.items("classes", grade=2) == []
    assert [r["class_code"] for r in await t.items("classes", class_code="102")] == ["102"]

    homeroom = await t.get("classes", t.homeroom())
    assert homeroom.status_code == 200, homeroom.text
    assert [r["class_code"] for r in homeroom.json()["items"]] == ["101"]
    assert homeroom.json()["items"][0] == mine
    asked_other = await t.get("classes", t.homeroom(), class_code="102")
    assert asked_other.json()["total"] == 0
    for headers in (term.student(), term.teacher("b")):
        refused = await t.get("classes", headers)
        assert refused.status_code == 403, refused.text


async def test_student_list_has_seat_numbers_sorts_by_seat_and_filters_by_course(
    filled_term: Any,
) -> None:
    t = filled_term
    term = t.term
    rows = await t.items("students", sort="seat_no")
    assert [(r["class_code"], r["seat_no"], r["name"]) for r in rows] == [
        ("101", 1, "林同學"), ("101", 2, "吳同學"), ("102", 1, "張同學"),
    ]  # fmt: skip
    first, second, third = rows
    assert _counts(first) == (3, 1, 1, 0, 1)
    assert _counts(second) == (1, 0, 0, 1, 0)
    assert _counts(third) == (0, 0, 0, 0, 0)
    assert first["grade"] == 1
    assert third["grade"] is None
    assert datetime.fromisoformat(first["last_submitted_at"]).tzinfo is not None
    assert second["last_submitted_at"] is not None
    assert third["last_submitted_at"] is None
    descending = await t.items("students", sort="seat_no", order="desc")
    assert [r["local_no"] for r in descending] == ["110003", "110002", "110001"]

    taking_y = await t.items("students", course_code=term.COURSE_Y)
    assert [r["local_no"] for r in taking_y] == ["110001"]
    assert _counts(taking_y[0]) == (3, 1, 1, 0, 1)  # the counts are the term's, not the course's
    taking_x = await t.items("students", course_code=term.COURSE_X, sort="student_no")
    assert [r["local_no"] for r in taking_x] == ["110001", "110002"]
    assert await t.items("students", course_code="X" * 23) == []
    assert [r["local_no"] for r in await t.items("students", grade=1)] == ["110001", "110002"]
    homeroom_y = await t.get("students", t.homeroom(), course_code=term.COURSE_X)
    assert {r["local_no"] for r in homeroom_y.json()["items"]} == {"110001", "110002"}
    too_long = await t.get("students", term.submitter(), course_code="X" * 24)
    assert too_long.status_code == 422


async def test_teacher_list_filters_by_teacher(filled_term: Any) -> None:
    t = filled_term
    term = t.term
    rows = await t.items("teachers")
    assert [(r["local_no"], r["pending"], r["succeeded"], r["failed"]) for r in rows] == [
        ("T001", 0, 1, 1), ("T002", 1, 0, 0),
    ]  # fmt: skip
    assert rows[0]["last_decided_at"] is not None
    assert rows[1]["last_decided_at"] is None
    only_b = await t.items("teachers", teacher_id=str(term.teacher_b))
    assert [(r["certifier_id"], r["name"]) for r in only_b] == [(str(term.teacher_b), "王老師")]
    refused = await t.get("teachers", t.homeroom())
    assert refused.status_code == 403
