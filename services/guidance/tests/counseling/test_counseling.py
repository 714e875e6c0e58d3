"""課程諮詢紀錄: individual and group records, who reads and edits them, search, pagination,
the counselor's xlsx, the attachment, other schools, and events without content."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
from typing import Any

import httpx
from openpyxl import load_workbook
from sqlmodel import select

from licheng.guidance.models import CounselingAttachment, CounselingParticipant, CounselingRecord
from licheng.kit.audit import AuditEntry
from licheng.kit.outbox import OutboxMessage

PNG = b"\x89PNG\r\n\x1a\n" + bytes(600)
SECRET = "機密諮詢內容：家庭狀況"


async def record(school: Any, who: str = "C1", **body: Any) -> dict[str, Any]:
    """POST a record as a counselor; its answer."""
    payload = {"held_on": "2025-09-01", "mode": "individual", "topic": "選課",
               "content": SECRET, **body}  # fmt: skip
    response = await school.api.client.post(
        f"{school.base}/counseling", json=payload, headers=school.counselor(who)
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def listed(school: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every item of the list (one page) for these headers and filters."""
    response = await school.api.client.get(
        f"{school.base}/counseling", headers=headers, params=params
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {i["id"] for i in items}


async def test_individual_and_group_records(school: Any) -> None:
    s = school.students
    one = await record(school, student_ids=[str(s["110001"])], held_on="114/09/02")
    assert one["held_on"] == "2025-09-02"
    assert [(x["student_no"], x["name"], x["class_code"], x["seat_no"]) for x in one["students"]] \
        == [("110001", "林同學", "101", 1)]  # fmt: skip
    assert one["mode"] == "individual"
    assert one["version"] == 1
    group = await record(school, mode="group", class_code="101", student_ids=[str(s["110003"])])
    assert [x["student_no"] for x in group["students"]] == ["110001", "110002", "110003"]
    assert group["class_code"] == "101"
    for headers in (school.counselor("C1"), school.as_role("admin")):
        for no in ("110001", "110002", "110003"):
            assert group["id"] in ids(await listed(school, headers, student_id=str(s[no])))
        assert ids(await listed(school, headers, student_id=str(s["110002"]))) == {group["id"]}
        assert ids(await listed(school, headers, class_code="101")) == {one["id"], group["id"]}
        assert ids(await listed(school, headers, class_code="102")) == {group["id"]}
    read = await school.api.client.get(
        f"{school.base}/counseling/{group['id']}", headers=school.as_role("admin")
    )
    assert read.status_code == 200
    assert read.json()["content"] == SECRET


async def test_bad_records_are_refused_naming_the_field(school: Any) -> None:
    s = school.students
    client, url, headers = school.api.client, f"{school.base}/counseling", school.counselor()
    base = {"held_on": "2025-09-01", "topic": "t", "content": "c"}
    cases = [
        ({"mode": "individual", "student_ids": [str(s["110001"]), str(s["110002"])]},
         "student_ids"),
        ({"mode": "individual", "student_ids": [str(s["110001"])], "class_code": "101"},
         "class_code"),
        ({"mode": "group"}, "student_ids"),
        ({"mode": "group", "student_ids": [str(s["110001"]), str(school.homeroom_teachers["101"])]},
         "student_ids.1"),
        ({"mode": "group", "class_code": "999"}, "class_code"),
        ({"mode": "individual", "student_ids": [str(s["110001"])], "content": "  "}, "content"),
        ({"mode": "individual", "student_ids": [str(s["110001"])], "held_on": "明天"}, "held_on"),
        ({"mode": "individual", "student_ids": [str(s["110001"])], "topic": "x" * 201}, "topic"),
    ]  # fmt: skip
    for body, field in cases:
        response = await client.post(url, json={**base, **body}, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert field in [d["field"] for d in response.json()["detail"]], response.text
    assert await school.api.count(CounselingRecord) == 0


async def test_only_its_counselor_edits_and_reads_a_record(school: Any) -> None:
    s = school.students
    mine = await record(school, student_ids=[str(s["110001"])])
    url = f"{school.base}/counseling/{mine['id']}"
    client = school.api.client
    theirs = await client.patch(url, json={"topic": "改"}, headers=school.counselor("C2"))
    assert theirs.status_code == 403
    assert theirs.json()["error"] == "not_your_record"
    assert (await client.delete(url, headers=school.counselor("C2"))).status_code == 403
    hidden = await client.get(url, headers=school.counselor("C2"))
    assert hidden.status_code == 404
    assert "content" not in hidden.text
    assert await listed(school, school.counselor("C2")) == []
    stale = await client.patch(url, json={"topic": "改"}, headers={**school.counselor(),
                                                                   "If-Match": "7"})  # fmt: skip
    assert stale.status_code == 409
    changed = await client.patch(
        url,
        json={"mode": "group", "student_ids": [str(s["110002"]), str(s["110003"])],
              "follow_up": "下週再談"},
        headers={**school.counselor(), "If-Match": "1"},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["version"] == 2
    assert body["follow_up"] == "下週再談"
    assert body["topic"] == "選課"
    assert [x["student_no"] for x in body["students"]] == ["110002", "110003"]
    assert await listed(school, school.counselor(), student_id=str(s["110001"])) == []
    assert (await client.get(url, headers=school.counselor())).json()["version"] == 2
    gone = await client.delete(url, headers=school.counselor())
    assert gone.status_code == 204
    assert await school.api.count(CounselingRecord) == 0
    assert await school.api.count(CounselingParticipant) == 0


async def test_homeroom_teachers_read_their_classes_records(school: Any) -> None:
    s = school.students
    of_101 = await record(school, student_ids=[str(s["110001"])])
    of_102 = await record(school, student_ids=[str(s["110003"])])
    mixed = await record(school, mode="group", student_ids=[str(s["110002"]), str(s["110003"])])
    client = school.api.client
    seen = await listed(school, school.homeroom("101"))
    assert ids(seen) == {of_101["id"], mixed["id"]}
    shown = next(i for i in seen if i["id"] == mixed["id"])
    assert [x["student_no"] for x in shown["students"]] == ["110002"]
    assert (await client.get(f"{school.base}/counseling/{of_101['id']}",
                             headers=school.homeroom("101"))).status_code == 200  # fmt: skip
    hidden = await client.get(
        f"{school.base}/counseling/{of_101['id']}", headers=school.homeroom("102")
    )
    assert hidden.status_code == 404
    assert ids(await listed(school, school.homeroom("102"))) == {of_102["id"], mixed["id"]}
    edit = await client.patch(
        f"{school.base}/counseling/{of_101['id']}", json={"topic": "x"},
        headers=school.homeroom("101"),
    )  # fmt: skip
    assert edit.status_code == 403


async def test_students_cannot_read_counseling_records(school: Any) -> None:
    s = school.students
    own = await record(school, student_ids=[str(s["110001"])])
    client = school.api.client
    refused = await client.get(f"{school.base}/counseling", headers=school.student("110001"))
    assert refused.status_code == 403
    for no in ("110001", "110002"):
        one = await client.get(f"{school.base}/counseling/{own['id']}", headers=school.student(no))
        assert one.status_code in (403, 404)
        assert SECRET not in one.text
        link = await client.get(
            f"{school.base}/counseling/{own['id']}/attachment", headers=school.student(no)
        )
        assert link.status_code in (403, 404)


async def test_date_range_topic_search_and_pagination(school: Any) -> None:
    sid = str(school.students["110001"])
    made = [
        await record(school, student_ids=[sid], held_on=day, topic=topic)
        for day, topic in (("2025-03-01", "Course Selection"), ("2025-05-10", "升學輔導"),
                           ("2025-09-01", "選修 course 課程"), ("2025-10-01", "其他"))
    ]  # fmt: skip
    mine = school.counselor()
    everything = await listed(school, mine)
    assert [i["held_on"] for i in everything] == ["2025-10-01", "2025-09-01", "2025-05-10",
                                                  "2025-03-01"]  # fmt: skip
    between = await listed(school, mine, **{"from": "114/05/01", "until": "2025-09-01"})
    assert ids(between) == {made[1]["id"], made[2]["id"]}
    assert ids(await listed(school, mine, topic="COURSE")) == {made[0]["id"], made[2]["id"]}
    assert await listed(school, mine, topic="%") == []
    bad = await school.api.client.get(
        f"{school.base}/counseling", headers=mine, params={"from": "someday"}
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "from"
    pages: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = await school.api.client.get(
            f"{school.base}/counseling", headers=mine, params=params
        )
        body = response.json()
        assert body["total"] == 4
        pages += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [i["id"] for i in everything]


async def test_the_xlsx_has_the_counselors_own_records_only(school: Any) -> None:
    s = school.students
    await record(school, student_ids=[str(s["110001"])], held_on="2025-09-02", follow_up="追蹤")
    await record(school, mode="group", class_code="101", held_on="2025-09-03", topic="團體")
    await record(school, "C2", student_ids=[str(s["110003"])], topic="別人的")
    response = await school.api.client.get(
        f"{school.base}/counseling.xlsx", headers=school.counselor()
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["日期", "方式", "班級", "學生（班級 座號 姓名 學號）", "主題", "內容",
                       "後續追蹤"]  # fmt: skip
    blank = next(i for i, row in enumerate(rows) if all(v is None for v in row))
    data = rows[1:blank]
    assert [r[:5] for r in data] == [
        ["114/09/03", "團體", "101", "101 1號 林同學 110001、101 2號 吳同學 110002", "團體"],
        ["114/09/02", "個別", None, "101 1號 林同學 110001", "選課"],
    ]
    assert data[1][5:] == [SECRET, "追蹤"]
    assert "別人的" not in json.dumps(rows, ensure_ascii=False, default=str)
    others = await school.api.client.get(
        f"{school.base}/counseling.xlsx", headers=school.homeroom("101")
    )
    assert others.status_code == 403


async def _objects(school: Any, record_id: str) -> list[str]:
    storage = school.api.app.state.storage
    bucket = school.api.app.state.settings.uploads_bucket
    prefix = f"{school.api.school}/{school.staff['C1']}/{record_id}/"
    return sorted(
        await asyncio.to_thread(
            lambda: [o.object_name
                     for o in storage.client.list_objects(bucket, prefix=prefix, recursive=True)]
        )
    )  # fmt: skip


async def _upload(school: Any, record_id: str, name: str, content: bytes) -> httpx.Response:
    response: httpx.Response = await school.api.client.put(
        f"{school.base}/counseling/{record_id}/attachment",
        files={"file": (name, content)},
        headers=school.counselor(),
    )
    return response


async def test_attachment_is_streamed_checked_and_linked(school: Any) -> None:
    rec = await record(school, student_ids=[str(school.students["110001"])])
    rid = rec["id"]
    for name, content in (("照片.pdf", PNG), ("程式.exe", b"MZ\x90\x00" + bytes(500))):
        refused = await _upload(school, rid, name, content)
        assert refused.status_code == 415, refused.text
    assert await _objects(school, rid) == []
    assert await school.api.count(CounselingAttachment) == 0
    uploaded = await _upload(school, rid, "../紀錄.pdf", school.PDF)
    assert uploaded.status_code == 200, uploaded.text
    digest = hashlib.sha256(school.PDF).hexdigest()
    assert uploaded.json()["attachment"]["filename"] == "紀錄.pdf"
    assert uploaded.json()["version"] == 2
    assert await _objects(school, rid) == [
        f"{school.api.school}/{school.staff['C1']}/{rid}/{digest}"
    ]
    link_url = f"{school.base}/counseling/{rid}/attachment"
    for headers in (school.counselor(), school.as_role("admin"), school.homeroom("101")):
        link = await school.api.client.get(link_url, headers=headers)
        assert link.status_code == 200, link.text
        assert digest in link.json()["url"]
    assert (await school.api.client.get(link_url, headers=school.homeroom("102"))).status_code \
        == 404  # fmt: skip
    theirs = await _upload(school, rid, "a.png", PNG)
    assert theirs.status_code == 200
    removed = await school.api.client.delete(link_url, headers=school.counselor())
    assert removed.status_code == 200
    assert removed.json()["attachment"] is None
    assert (await school.api.client.get(link_url, headers=school.counselor())).status_code == 404


async def test_another_schools_records_are_invisible(school: Any) -> None:
    rec = await record(school, student_ids=[str(school.students["110001"])])
    other = f"{(int(school.api.school) + 1) % 10**6:06d}"
    elsewhere = school.api.issuer.headers(
        person_id=school.staff["C1"], groups=[f"/schools/{other}/counselor",
                                              f"/schools/{other}/admin"]
    )  # fmt: skip
    client = school.api.client
    here = await client.get(f"{school.base}/counseling", headers=elsewhere)
    assert here.status_code == 403
    assert (await client.get(f"{school.base}/counseling/{rec['id']}",
                             headers=elsewhere)).status_code == 403  # fmt: skip
    there = f"/api/guidance/v1/schools/{other}/counseling"
    listed_there = await client.get(there, headers=elsewhere)
    assert listed_there.status_code == 200
    assert listed_there.json()["items"] == []
    assert (await client.get(f"{there}/{rec['id']}", headers=elsewhere)).status_code == 404
    edit = await client.patch(f"{there}/{rec['id']}", json={"topic": "x"}, headers=elsewhere)
    assert edit.status_code == 404


async def test_events_and_audit_carry_no_content(school: Any) -> None:
    s = school.students
    rec = await record(school, mode="group", class_code="101", topic="祕密主題",
                       follow_up="祕密追蹤")  # fmt: skip
    url = f"{school.base}/counseling/{rec['id']}"
    changed = await school.api.client.patch(
        url, json={"content": "新的" + SECRET}, headers=school.counselor()
    )
    assert changed.status_code == 200
    assert (await school.api.client.delete(url, headers=school.counselor())).status_code == 204
    async with school.api.app.state.session_factory() as session:
        outbox = (await session.exec(select(OutboxMessage).order_by(OutboxMessage.seq))).all()
        audit = (await session.exec(select(AuditEntry))).all()
    subjects = [m.subject for m in outbox if ".counseling." in m.subject]
    assert [x.rsplit(".", 1)[1] for x in subjects] == ["recorded", "updated", "deleted"]
    for message in outbox:
        payload = json.loads(message.payload)
        data = payload.get("data", payload)
        assert "topic" not in data
        assert "content" not in data
        text = message.payload
        assert all(word not in text for word in (SECRET, "祕密", "林同學", "110001"))
        if ".counseling." in message.subject:
            assert sorted(data["student_ids"]) == sorted([str(s["110001"]), str(s["110002"])])
    rows = [a for a in audit if a.entity == "counseling"]
    assert [a.action for a in rows] == ["counseling.recorded", "counseling.updated",
                                        "counseling.deleted"]  # fmt: skip
    for row in rows:
        dumped = json.dumps([row.before, row.after], ensure_ascii=False)
        assert SECRET not in dumped
        assert "祕密" not in dumped
