"""學生填寫狀況 and 班級填寫狀況: counts per student, class and category; sorts, filters, paging
and who sees what."""

from __future__ import annotations

from typing import Any

NO_RECORDS = {
    "cadre": 0, "competition": 0, "certificate": 0, "service": 0, "flexible": 0,
    "workplace": 0, "work": 0, "other": 0, "group_activity": 0, "advanced_course": 0,
}  # fmt: skip


def by_category(**counts: int) -> dict[str, int]:
    """Every category's count: 0 but for those given."""
    return {**NO_RECORDS, **counts}


def numbers(items: list[dict[str, Any]]) -> list[str]:
    """The 學號 of a list's items, in order."""
    return [item["local_no"] for item in items]


async def test_counts_per_student(filled_year: Any) -> None:
    t = filled_year
    items = await t.items("students")
    assert numbers(items) == ["110001", "110002", "110003", "110004"]
    first = items[0]
    assert first["id"] == str(t.students["110001"])
    assert (first["name"], first["class_code"], first["seat_no"], first["grade"]) == (
        "林同學",
        "101",
        1,
        1,
    )
    counts = [(i["filled"], i["selected"], i["cadres"], i["proof_missing"]) for i in items]
    assert counts == [(3, 2, 2, 2), (1, 0, 0, 1), (1, 1, 0, 0), (0, 0, 1, 0)]
    assert [i["by_category"] for i in items] == [
        by_category(competition=1, service=1, work=1),
        by_category(competition=1),
        by_category(service=1),
        by_category(),
    ]
    assert items[3]["grade"] == 2
    # Another year counts only its own records.
    earlier = await t.items("students", academic_year=114)
    assert [(i["filled"], i["selected"], i["cadres"]) for i in earlier] == [
        (1, 1, 1), (0, 0, 0), (0, 0, 0), (0, 0, 0)
    ]  # fmt: skip


async def test_counts_per_class(filled_year: Any) -> None:
    t = filled_year
    items = await t.items("classes")
    assert [i["class_code"] for i in items] == ["101", "102", "201"]
    first, second, third = items
    assert (first["grade"], first["homeroom_id"], first["homeroom_name"]) == (
        1, str(t.school.homeroom_teacher), "陳導師"
    )  # fmt: skip
    counts = [
        (i["students"], i["students_with_records"], i["filled"], i["selected"], i["cadres"],
         i["proof_missing"])
        for i in items
    ]  # fmt: skip
    # The graduate of 101 and the record in another school are never counted.
    assert counts == [(2, 2, 4, 2, 2, 3), (1, 1, 1, 1, 0, 0), (1, 0, 0, 0, 1, 0)]
    assert first["by_category"] == by_category(competition=2, service=1, work=1)
    assert second["by_category"] == by_category(service=1)
    assert (second["homeroom_name"], third["grade"]) == (None, 2)
    assert [i["class_code"] for i in await t.items("classes", grade=2)] == ["201"]
    assert [i["class_code"] for i in await t.items("classes", class_code="102")] == ["102"]


async def test_sorts(filled_year: Any) -> None:
    t = filled_year
    expected = {
        ("class", "desc"): ["110004", "110003", "110002", "110001"],
        ("student_no", "asc"): ["110001", "110002", "110003", "110004"],
        ("student_no", "desc"): ["110004", "110003", "110002", "110001"],
        ("filled", "desc"): ["110001", "110002", "110003", "110004"],
        ("filled", "asc"): ["110004", "110002", "110003", "110001"],
        ("selected", "desc"): ["110001", "110003", "110002", "110004"],
        ("cadres", "desc"): ["110001", "110004", "110002", "110003"],
        ("proof_missing", "desc"): ["110001", "110002", "110003", "110004"],
    }
    for (sort, order), wanted in expected.items():
        assert numbers(await t.items("students", sort=sort, order=order)) == wanted, sort


async def test_filters_and_paging(filled_year: Any) -> None:
    t = filled_year
    assert numbers(await t.items("students", grade=2)) == ["110004"]
    assert numbers(await t.items("students", class_code="101")) == ["110001", "110002"]
    assert numbers(await t.items("students", class_code="999")) == []
    # A category counts only its records; the breakdown still covers every category.
    services = await t.items("students", category="service", sort="filled", order="desc")
    assert numbers(services)[:2] == ["110001", "110003"]
    first = services[0]
    assert (first["filled"], first["selected"], first["proof_missing"]) == (1, 0, 1)
    assert first["by_category"] == by_category(competition=1, service=1, work=1)
    competitions = {i["local_no"]: i for i in await t.items("students", category="competition")}
    assert [(i["filled"], i["selected"], i["proof_missing"]) for i in competitions.values()] == [
        (1, 1, 0), (1, 0, 1), (0, 0, 0), (0, 0, 0)
    ]  # fmt: skip

    first_page = await t.get("students", t.staff(), limit=3, sort="student_no")
    body = first_page.json()
    assert (body["total"], numbers(body["items"])) == (4, ["110001", "110002", "110003"])
    rest = await t.get("students", t.staff(), limit=3, sort="student_no",
                       cursor=body["next_cursor"])  # fmt: skip
    assert numbers(rest.json()["items"]) == ["110004"]
    assert rest.json()["next_cursor"] is None

    for params in ({"grade": 4}, {"category": "sports"}, {"sort": "name"}, {"order": "up"},
                   {"academic_year": 99}, {"cursor": "nonsense"}):  # fmt: skip
        refused = await t.get("students", t.staff(), **params)
        assert refused.status_code in (400, 422), params
        assert refused.json()["message"], params
    missing_year = await t.school.api.client.get(f"{t.url}/students", headers=t.staff())
    assert missing_year.status_code == 422


async def test_homeroom_teacher_sees_only_their_class(filled_year: Any) -> None:
    t = filled_year
    mine = await t.items("students", t.school.homeroom())
    assert numbers(mine) == ["110001", "110002"]
    assert await t.items("students", t.school.homeroom(), class_code="102") == []
    assert await t.items("students", t.school.homeroom(), grade=2) == []
    classes = await t.items("classes", t.school.homeroom())
    assert [(c["class_code"], c["filled"]) for c in classes] == [("101", 4)]
    # A 導師 of no class sees nobody.
    nobody = t.school.api.as_roles("homeroom_teacher")
    assert await t.items("students", nobody) == []


async def test_who_may_read(filled_year: Any) -> None:
    t = filled_year
    school = t.school
    for role in ("cadre_submitter", "admin"):
        assert len(await t.items("students", school.as_role(role))) == 4, role
    refused_roles = [
        school.student(),
        *(school.as_role(r) for r in ("course_submitter", "certificate_manager", "counselor")),
    ]
    for headers in refused_roles:
        for path in ("students", "classes"):
            refused = await t.get(path, headers)
            assert refused.status_code == 403, (path, refused.text)
            assert "items" not in refused.text
    anonymous = await school.api.client.get(f"{t.url}/students", params={"academic_year": 115})
    assert anonymous.status_code == 401
    # Staff of another school reach nothing here.
    other = f"{(int(school.api.school) + 1) % 10**6:06d}"
    outsider = school.api.issuer.headers(groups=[f"/schools/{other}/performance_submitter"])
    refused = await t.get("students", outsider)
    assert refused.status_code == 403
