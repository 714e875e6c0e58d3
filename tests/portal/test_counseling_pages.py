"""課程諮詢 pages through the campus: a counselor records a group consultation for a class that
the class's 導師 then reads (and another class's 導師 does not), an individual one for a student
picked from the list, search and the xlsx download, refusals that save nothing, and the 403 page
for other roles."""

from __future__ import annotations

import html
import re
from io import BytesIO
from typing import Any

import httpx
from openpyxl import load_workbook

PEOPLE = {
    "staff_csv": "教師編號,姓名,email\nT001,陳導師,\nT002,王導師,\nC001,李諮詢,\n",
    "classes_csv": "班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n102,1,普一乙,T002\n",
    "students_csv": (
        "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
        "110001,林同學,101,1,A123456789,0970501,在籍\n"
        "110002,吳同學,101,2,F131104093,0970812,在籍\n"
        "110003,張同學,102,1,B120000008,0970101,在籍\n"
    ),
}
GROUP = {"held_on": "2026-10-05", "mode": "group", "class_code": "101", "topic": "選課說明",
         "content": "說明高二多元選修與加深加廣課程", "follow_up": "下週追蹤選課單"}  # fmt: skip


def text_of(page: str) -> str:
    """The page's text, tags dropped and entities decoded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


async def _records(campus: Any, counselor: str, **params: str) -> dict[str, Any]:
    """The counselor's records as the API holds them."""
    response = await campus.gateway.get(
        f"{campus.guidance}/counseling", params=params, headers=campus.as_(counselor, "counselor")
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def _record_group(campus: Any, school: Any, page: httpx.AsyncClient) -> httpx.Response:
    """Post the group form once guidance knows every student (people arrive by events)."""
    counselor = campus.as_(school.staff["C001"], "counselor")
    last = school.students["110003"]  # the last row of the students' import

    async def people_known() -> httpx.Response:
        # Refused for its shape (an individual record with a class), saving nothing; the last
        # student imported not being named as unknown means every student has arrived.
        probe = await campus.gateway.post(
            f"{campus.guidance}/counseling", headers=counselor,
            json={"held_on": "2026-10-05", "mode": "individual", "class_code": "101",
                  "student_ids": [last], "content": "probe"},
        )  # fmt: skip
        fields = {item["field"] for item in probe.json().get("detail") or []}
        return httpx.Response(200 if "student_ids.0" not in fields else 425, text=probe.text)

    await campus.eventually_ok(people_known, "guidance knowing every student")
    recorded = await page.post("/counseling", data=GROUP)
    assert recorded.status_code == 303, recorded.text
    return await page.get(recorded.headers["location"])


async def test_group_consultation_is_seen_by_the_class_homeroom_teacher(campus: Any) -> None:
    school = await campus.set_up_school(**PEOPLE)
    counselor = school.staff["C001"]
    async with campus.portal(counselor, "counselor") as page:
        empty = await page.get("/counseling")
        assert empty.status_code == 200, empty.text
        assert 'id="counseling-form"' in empty.text
        assert "共 0 筆" in text_of(empty.text)

        shown = await _record_group(campus, school, page)
        assert "已新增課程諮詢紀錄" in shown.text
        words = text_of(shown.text)
        assert "115/10/05 團體諮詢：選課說明" in words
        assert "101 1 林同學（110001）、101 2 吳同學（110002）" in words
        # The group form's class comes from guidance's class list.
        assert '<option value="101">101（1 年級，2 人）</option>' in shown.text
    held = await _records(campus, counselor)
    assert held["total"] == 1
    record = held["items"][0]
    assert record["mode"] == "group"
    assert record["class_code"] == "101"
    assert {s["student_no"] for s in record["students"]} == {"110001", "110002"}
    assert record["follow_up"] == "下週追蹤選課單"

    async with campus.portal(school.staff["T001"], "homeroom_teacher") as page:
        seen = await page.get("/homeroom/counseling")
        assert seen.status_code == 200, seen.text
        words = text_of(seen.text)
        assert "說明高二多元選修與加深加廣課程" in words
        assert "林同學（110001）" in words
        assert "李諮詢" in words
        assert "共 1 筆" in words
        searched = await page.get("/homeroom/counseling", params={"topic": "轉組"})
        assert "共 0 筆" in text_of(searched.text)
        bad = await page.get("/homeroom/counseling", params={"from": "not-a-date"})
        assert bad.status_code == 422
        assert "日期格式不正確" in bad.text
    async with campus.portal(school.staff["T002"], "homeroom_teacher") as page:
        other = await page.get("/homeroom/counseling")
        assert other.status_code == 200, other.text
        assert "說明高二多元選修" not in other.text
        assert "共 0 筆" in text_of(other.text)


async def _students_known(campus: Any, counselor: str) -> None:
    """Wait until guidance's roster knows the school's three students."""

    async def known() -> httpx.Response:
        found = await campus.gateway.get(
            f"{campus.guidance}/students", headers=campus.as_(counselor, "counselor")
        )
        ok = found.status_code == 200 and found.json()["total"] == 3
        return httpx.Response(200 if ok else 425, text=found.text)

    await campus.eventually_ok(known, "guidance knowing every student")


def _options(page: str) -> list[tuple[str, bool]]:
    """The picker's students as (id, checked), in order."""
    box = re.search(r'<div id="student-options".*?</div>', page, re.S)
    assert box is not None
    return [(m.group(1), bool(m.group(2))) for m in re.finditer(
        r'name="student_ids" value="([^"]+)"( checked)?', box.group(0))]  # fmt: skip


async def test_first_individual_consultation_picks_the_student_by_search(campus: Any) -> None:
    school = await campus.set_up_school(**PEOPLE)
    counselor = school.staff["C001"]
    lin, wu, zhang = (school.students[n] for n in ("110001", "110002", "110003"))
    await _students_known(campus, counselor)
    async with campus.portal(counselor, "counselor") as page:
        start = await page.get("/counseling")
        assert start.status_code == 200, start.text
        assert _options(start.text) == []  # nothing listed before a search
        for label in ('for="student-q"', 'for="student-class"', 'id="student-find"'):
            assert label in start.text
        by_number = await page.get("/counseling", params={"find_q": "110003"})
        assert _options(by_number.text) == [(zhang, False)]
        assert "找到 1 位學生" in text_of(by_number.text)
        assert "B120000008" not in by_number.text  # never a 身分證號
        by_class = await page.get("/counseling", params={"find_class": "101"})
        assert _options(by_class.text) == [(lin, False), (wu, False)]
        by_name = await page.get("/counseling", params={"find_q": "林", "find_class": "102"})
        assert _options(by_name.text) == []
        assert "找到 0 位學生" in text_of(by_name.text)
        # htmx's list: the picked student stays checked on top, the matches follow.
        fragment = await page.get(
            "/counseling/students", params={"find_q": "同學", "student_ids": [zhang]}
        )
        assert fragment.status_code == 200, fragment.text
        assert _options(fragment.text) == [(zhang, True), (lin, False), (wu, False)]
        assert "<html" not in fragment.text
        # Without JavaScript the 搜尋學生 button brings the form back with what was typed.
        found = await page.post("/counseling", data={
            "action": "find", "find_q": "吳", "held_on": "2026-11-02", "mode": "individual",
            "content": "尚未儲存的內容", "student_ids": [zhang],
        })  # fmt: skip
        assert found.status_code == 200, found.text
        assert _options(found.text) == [(zhang, True), (wu, False)]
        assert "尚未儲存的內容" in found.text
        assert (await _records(campus, counselor))["total"] == 0  # nothing saved
        saved = await page.post("/counseling", data={
            "held_on": "2026-11-02", "mode": "individual", "student_ids": [zhang],
            "content": "第一次個別諮詢", "class_code": "",
        })  # fmt: skip
        assert saved.status_code == 303, saved.text
    held = await _records(campus, counselor)
    assert [s["student_no"] for s in held["items"][0]["students"]] == ["110003"]


async def test_individual_record_search_and_download(campus: Any) -> None:
    school = await campus.set_up_school(**PEOPLE)
    counselor = school.staff["C001"]
    lin = school.students["110001"]
    async with campus.portal(counselor, "counselor") as page:
        await _record_group(campus, school, page)
        created = await page.post("/counseling", data={
            "held_on": "115/11/02", "mode": "individual", "student_ids": [lin],
            "topic": "轉組諮詢", "content": "討論自然組與社會組的選擇", "class_code": "",
        })  # fmt: skip
        assert created.status_code == 303, created.text
        assert (await _records(campus, counselor, student_id=lin))["total"] == 2

        by_topic = await page.get("/counseling", params={"topic": "轉組"})
        words = text_of(by_topic.text)
        assert "共 1 筆" in words
        assert "討論自然組與社會組的選擇" in words
        assert "說明高二多元選修" not in words
        by_dates = await page.get(
            "/counseling", params={"from": "2026-10-01", "until": "2026-10-31"}
        )
        words = text_of(by_dates.text)
        assert "共 1 筆" in words
        assert "選課說明" in words
        by_student = await page.get("/counseling", params={"student_id": school.students["110002"]})
        assert "共 1 筆" in text_of(by_student.text)

        link = re.search(r'href="(/counseling/download\.xlsx[^"]*)"', by_topic.text)
        assert link is not None
        download = await page.get(html.unescape(link.group(1)))
        assert download.status_code == 200, download.text
        assert "spreadsheetml" in download.headers["content-type"]
        sheet = load_workbook(BytesIO(download.content)).worksheets[0]
        cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c]
        assert any("討論自然組與社會組的選擇" in c for c in cells)
        assert not any("說明高二多元選修" in c for c in cells)


async def test_refusals_show_the_message_and_save_nothing(campus: Any) -> None:
    school = await campus.set_up_school(**PEOPLE)
    counselor = school.staff["C001"]
    async with campus.portal(counselor, "counselor") as page:
        await _record_group(campus, school, page)
        for form, status, message in (
            ({"held_on": "2026-10-06", "mode": "individual", "content": "無學生"},
             422, "個別諮詢須指定恰好一位學生"),
            ({"held_on": "2026-10-06", "mode": "group", "class_code": "101", "content": "  "},
             422, "諮詢內容為必填"),
            ({"held_on": "2026-10-06", "mode": "group", "class_code": "999", "content": "無此班"},
             422, "班級「999」沒有在籍學生"),
            ({"held_on": "昨天", "mode": "group", "class_code": "101", "content": "日期錯"},
             422, "諮詢日期格式不正確"),
        ):  # fmt: skip
            refused = await page.post("/counseling", data=form)
            assert refused.status_code == status, refused.text
            assert message in refused.text
            assert 'class="field-error"' in refused.text
            assert html.escape(str(form["content"])) in refused.text  # the typed text is kept
        no_token = await page.post(
            "/counseling", data={**GROUP, "csrf_token": "forged"}, headers={"x-csrf-token": ""}
        )
        assert no_token.status_code == 403
    assert (await _records(campus, counselor))["total"] == 1


async def test_other_roles_get_the_403_page(campus: Any) -> None:
    school = await campus.set_up_school(**PEOPLE)
    for person, role in ((school.students["110001"], "student"),
                         (school.staff["T001"], "homeroom_teacher"),
                         (school.staff["T002"], "admin")):  # fmt: skip
        async with campus.portal(person, role) as page:
            refused = await page.get("/counseling")
            assert refused.status_code == 403, role
            assert "您沒有使用此功能的權限" in refused.text
            posted = await page.post("/counseling", data=GROUP)
            assert posted.status_code == 403, role
    async with campus.portal(school.staff["C001"], "counselor") as page:
        assert (await page.get("/counseling")).status_code == 200
    assert (await _records(campus, school.staff["C001"]))["total"] == 0
