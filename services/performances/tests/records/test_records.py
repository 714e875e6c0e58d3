"""A student's own 多元表現 records: the categories, round trips, refusals naming the field,
merge-patch edits, deletes, and who may read a record."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlmodel import select

from licheng.performances.models import Category, Origin, Performance

from .conftest import VALID, YEAR, Filling, new_id


async def test_categories_describe_every_form(filling: Filling) -> None:
    answer = await filling.client.get(f"{filling.base}/categories", headers=filling.student())
    assert answer.status_code == 200, answer.text
    categories = {c["key"]: c for c in answer.json()}
    assert set(categories) == set(VALID)
    competition = categories["competition"]
    assert (competition["title"], competition["sheet"]) == ("競賽參與", "競賽參與紀錄")
    level = next(f for f in competition["fields"] if f["name"] == "level")
    assert level["label"] == "競賽等級"
    assert level["kind"] == "code"
    assert level["required"]
    assert {"code": "3", "label": "全國"} in level["choices"]
    assert categories["service"]["ranges"] == [{"start": "start_date", "end": "end_date"}]
    certificate = categories["certificate"]["fields"][0]
    assert (certificate["name"], certificate["kind"]) == ("certificate_code", "certificate")
    teacher = await filling.client.get(
        f"{filling.base}/categories", headers=filling.school.homeroom()
    )
    assert teacher.status_code == 200
    stranger = await filling.client.get(
        f"{filling.base}/categories", headers=filling.other_school_student()
    )
    assert stranger.status_code == 403


@pytest.mark.parametrize("category", sorted(VALID))
async def test_each_category_round_trips_its_fields(filling: Filling, category: str) -> None:
    _sent, stored = VALID[category]
    created = await filling.create(category, video_url="https://youtu.be/abc")
    assert created["fields"] == stored
    assert created["category"] == category
    assert created["origin"] == "self"
    assert created["selected"] is False
    assert created["files"] == []
    assert created["video_url"] == "https://youtu.be/abc"
    assert created["student"] == {
        "id": str(filling.school.students["110001"]), "student_no": "110001", "name": "林同學",
        "class_code": "101", "seat_no": 1,
    }  # fmt: skip
    if category == "certificate":
        assert created["certificate"]["name"] == "多益測驗"
    else:
        assert created["certificate"] is None
    read = await filling.client.get(
        f"{filling.base}/performances/{created['id']}", headers=filling.student()
    )
    assert read.status_code == 200
    assert read.json() == created
    mine = await filling.client.get(
        f"{filling.base}/me/performances",
        params={"academic_year": YEAR, "category": category},
        headers=filling.student(),
    )
    assert mine.status_code == 200
    assert [r["id"] for r in mine.json()["items"]] == [created["id"]]
    assert mine.json()["total"] == 1
    async with filling.api.app.state.session_factory() as session:
        row = (await session.exec(select(Performance))).one()
    assert row.fields == stored
    assert row.certificate_code == ("TOEIC" if category == "certificate" else None)


INVALID = [
    ("service", {"start_date": "115/02/30"}, "start_date", "invalid_date", "開始日期"),
    ("service", {"end_date": "115/09/01"}, "end_date", "range_invalid", "結束日期不能早於開始日期"),
    ("service", {"hours": "-3"}, "hours", "invalid_number", "時數"),
    ("competition", {"level": "9"}, "level", "invalid_code", "競賽等級"),
    ("competition", {"colour": "紅"}, "colour", "unknown_field", "colour"),
    ("competition", {"name": ""}, "name", "required", "競賽名稱為必填"),
    ("certificate", {"certificate_code": "NOPE"}, "certificate_code", "certificate_unknown",
     "證照代碼"),
]  # fmt: skip


@pytest.mark.parametrize(("category", "change", "field", "code", "named"), INVALID)
async def test_invalid_fields_are_refused_naming_the_field(
    filling: Filling, category: str, change: dict[str, Any], field: str, code: str, named: str
) -> None:
    body = filling.body(category)
    body["fields"] = {**body["fields"], **change}
    if category == "service":
        body["fields"]["start_date"] = change.get("start_date", "115/09/05")
        body["fields"]["end_date"] = change.get("end_date", "115/09/30")
    refused = await filling.client.post(
        f"{filling.base}/performances", json=body, headers=filling.student()
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "request_invalid"
    problems = refused.json()["detail"]
    assert [(p["loc"], p["type"]) for p in problems] == [(["body", "fields", field], code)]
    assert named in problems[0]["message"]
    assert named in refused.json()["message"]
    assert await filling.api.count(Performance) == 0


async def test_brief_and_video_link_are_checked(filling: Filling) -> None:
    url = f"{filling.base}/performances"
    for brief, code in (("   ", "brief_required"), ("字" * 101, "brief_too_long")):
        refused = await filling.client.post(
            url, json=filling.body(brief=brief), headers=filling.student()
        )
        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["detail"]
        assert (problem["loc"], problem["type"]) == (["body", "brief"], code)
        assert "內容簡述" in problem["message"]
    for link in ("ftp://example.com/v.mp4", "javascript:alert(1)", "https://x.tw/" + "a" * 500):
        refused = await filling.client.post(
            url, json=filling.body(video_url=link), headers=filling.student()
        )
        assert refused.status_code == 422, refused.text
        assert "影音檔案外部連結" in refused.json()["message"]
    assert await filling.api.count(Performance) == 0
    kept = await filling.create(brief="  一百字以內的簡述  ")
    assert kept["brief"] == "一百字以內的簡述"


async def test_a_patch_merges_fields_and_revalidates_the_record(filling: Filling) -> None:
    created = await filling.create("service")
    url = f"{filling.base}/performances/{created['id']}"
    patched = await filling.client.patch(
        url, json={"fields": {"hours": "6"}}, headers=filling.student()
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["fields"] == {**VALID["service"][1], "hours": 6.0}
    assert patched.json()["version"] == created["version"] + 1
    backwards = await filling.client.patch(
        url, json={"fields": {"end_date": "115/09/01"}}, headers=filling.student()
    )
    assert backwards.status_code == 422
    assert backwards.json()["detail"][0]["loc"] == ["body", "fields", "end_date"]
    cleared = await filling.client.patch(
        url, json={"fields": {"end_date": None}, "video_url": "http://v.tw/1"},
        headers=filling.student(),
    )  # fmt: skip
    assert cleared.status_code == 200, cleared.text
    assert "end_date" not in cleared.json()["fields"]
    assert cleared.json()["video_url"] == "http://v.tw/1"
    unlinked = await filling.client.patch(url, json={"video_url": None}, headers=filling.student())
    assert unlinked.json()["video_url"] is None
    missing = await filling.client.patch(url, json={"category": "work"}, headers=filling.student())
    assert missing.status_code == 422  # a new category needs its own fields
    assert {p["loc"][-1] for p in missing.json()["detail"]} == {"name", "made_on"}
    moved = await filling.client.patch(
        url, json={"category": "work", "fields": VALID["work"][0]}, headers=filling.student()
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["category"], moved.json()["category_title"]) == ("work", "作品成果")
    assert moved.json()["fields"] == VALID["work"][1]
    stale = await filling.client.patch(
        url, json={"brief": "舊版本"}, headers={**filling.student(), "if-match": "1"}
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == "version_conflict"


async def test_concurrent_patches_with_one_version_give_one_winner(filling: Filling) -> None:
    created = await filling.create()
    url = f"{filling.base}/performances/{created['id']}"
    headers = {**filling.student(), "if-match": str(created["version"])}
    answers = await asyncio.gather(
        filling.client.patch(url, json={"brief": "甲"}, headers=headers),
        filling.client.patch(url, json={"brief": "乙"}, headers=headers),
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    loser = next(a for a in answers if a.status_code == 409)
    assert loser.json()["error"] == "version_conflict"
    winner = next(a for a in answers if a.status_code == 200)
    read = await filling.client.get(url, headers=filling.student())
    assert read.json()["brief"] == winner.json()["brief"]
    assert read.json()["version"] == created["version"] + 1


async def test_delete_is_for_self_filled_records_only(filling: Filling) -> None:
    created = await filling.create()
    imported = Performance(
        school_code=filling.api.school, student_id=filling.school.students["110001"],
        academic_year=YEAR, category=Category.COMPETITION, origin=Origin.IMPORTED,
        fields=VALID["competition"][1], brief="學校匯入", import_key="k" * 64,
    )  # fmt: skip
    await filling.add_rows(imported)
    refused = await filling.client.delete(
        f"{filling.base}/performances/{imported.id}", headers=filling.student()
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "imported_record_undeletable"
    assert "匯入" in refused.json()["message"]
    theirs = await filling.client.delete(
        f"{filling.base}/performances/{created['id']}", headers=filling.student("110002")
    )
    assert theirs.status_code == 404
    deleted = await filling.client.delete(
        f"{filling.base}/performances/{created['id']}", headers=filling.student()
    )
    assert deleted.status_code == 204
    assert await filling.api.count(Performance) == 1
    gone = await filling.client.get(
        f"{filling.base}/performances/{created['id']}", headers=filling.student()
    )
    assert gone.status_code == 404


async def test_an_imported_record_takes_brief_link_and_proof_but_keeps_its_data(
    filling: Filling,
) -> None:
    imported = Performance(
        school_code=filling.api.school, student_id=filling.school.students["110001"],
        academic_year=YEAR, category=Category.SERVICE, origin=Origin.IMPORTED,
        fields=VALID["service"][1], brief="學校匯入", import_key="i" * 64,
    )  # fmt: skip
    await filling.add_rows(imported)
    url = f"{filling.base}/performances/{imported.id}"
    edited = await filling.client.patch(
        url, json={"brief": "我負責清點垃圾", "video_url": "https://youtu.be/x",
                   "fields": {"hours": "4.5"}},
        headers=filling.student(),
    )  # fmt: skip
    assert edited.status_code == 200, edited.text  # unchanged fields may be sent back
    assert edited.json()["origin"] == "imported"
    assert edited.json()["brief"] == "我負責清點垃圾"
    for change in ({"category": "other"}, {"fields": {"hours": "9"}}):
        refused = await filling.client.patch(url, json=change, headers=filling.student())
        assert refused.status_code == 409, change
        assert refused.json()["error"] == "imported_record_fixed"
    proof = await filling.upload(str(imported.id), "證明.pdf", filling.school.PDF)
    assert proof.status_code == 201, proof.text
    assert [f["kind"] for f in proof.json()["files"]] == ["pdf"]


async def test_records_are_read_by_their_student_staff_and_homeroom_teacher_only(
    filling: Filling,
) -> None:
    mine = await filling.create()
    other_class = await filling.create(student_no="110003")
    url = f"{filling.base}/performances/{mine['id']}"
    for headers in (
        filling.student(),
        filling.school.homeroom(),
        filling.school.as_role("performance_submitter"),
        filling.school.as_role("cadre_submitter"),
        filling.school.as_role("admin"),
    ):
        read = await filling.client.get(url, headers=headers)
        assert read.status_code == 200, read.text
    for headers in (
        filling.student("110002"),
        filling.school.as_role("course_submitter"),
        filling.school.as_role("certificate_manager"),
    ):
        hidden = await filling.client.get(url, headers=headers)
        assert hidden.status_code == 404, hidden.text
        assert "林同學" not in hidden.text
    outside_class = await filling.client.get(
        f"{filling.base}/performances/{other_class['id']}", headers=filling.school.homeroom()
    )
    assert outside_class.status_code == 404
    for method, body in (("PATCH", {"brief": "偷改"}), ("DELETE", None)):
        refused = await filling.client.request(
            method, url, json=body, headers=filling.student("110002")
        )
        assert refused.status_code == 404
        staff = await filling.client.request(
            method, url, json=body, headers=filling.school.as_role("performance_submitter")
        )
        assert staff.status_code == 403  # records are the student's to change
    unknown = await filling.client.get(
        f"{filling.base}/performances/{new_id()}", headers=filling.student()
    )
    assert unknown.status_code == 404
    theirs = await filling.client.get(
        f"{filling.base}/me/performances", headers=filling.student("110002")
    )
    assert theirs.json() == {"items": [], "next_cursor": None, "total": 0}


async def test_another_school_sees_nothing(filling: Filling) -> None:
    created = await filling.create()
    stranger = filling.other_school_student()
    here = await filling.client.get(
        f"{filling.base}/performances/{created['id']}", headers=stranger
    )
    assert here.status_code == 403
    assert "林同學" not in here.text
    other = f"{(int(filling.api.school) + 1) % 10**6:06d}"
    there = await filling.client.get(
        f"/api/performances/v1/schools/{other}/performances/{created['id']}", headers=stranger
    )
    assert there.status_code == 404
    listed = await filling.client.get(
        f"/api/performances/v1/schools/{other}/me/performances", headers=stranger
    )
    assert listed.json()["total"] == 0
    written = await filling.client.patch(
        f"/api/performances/v1/schools/{other}/performances/{created['id']}",
        json={"brief": "跨校"},
        headers=stranger,
    )
    assert written.status_code == 404
    read = await filling.client.get(
        f"{filling.base}/performances/{created['id']}", headers=filling.student()
    )
    assert read.json()["brief"] == created["brief"]
