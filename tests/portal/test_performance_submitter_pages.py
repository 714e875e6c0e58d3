"""多元表現提交者 pages, through the campus: 參數設定 saved as a merge patch (refusals shown by
their fields, nothing changed), and 填報狀況 by class (an SVG chart by category beside the
table) and by student with filters, plus the xlsx downloads."""

from __future__ import annotations

import asyncio
import html
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any


def text_of(page: str) -> str:
    """The page's text, tags dropped and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def form_values(page: str) -> dict[str, str]:
    """Every named input's value and each select's chosen option (enough for these forms)."""
    values = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input[^>]*?name="([^"]+)"[^>]*?value="([^"]*)"', page)
    }
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        values[name] = chosen.group(1) if chosen else ""
    return values


async def school_with_records(campus: Any) -> Any:
    """Two classes; 110001 (101) has a 志工服務 and a 競賽參與 record, 110003 (102) none."""
    gw, base = campus.gateway, campus.performances
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳導師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n102,1,普一乙,T001\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110003,黃同學,102,1,F131104093,0970812,在籍\n"
        ),
    )
    submitter = campus.as_(school.staff["T002"], "performance_submitter")
    now = datetime.now(UTC)
    window = {
        f"{w}_{edge}": (now + timedelta(days=-1 if edge == "from" else 9)).isoformat()
        for w in ("fill", "select")
        for edge in ("from", "until")
    }
    opened = await gw.patch(
        f"{base}/parameters/115",
        json=window,
        headers={**submitter, "content-type": "application/merge-patch+json"},
    )
    assert opened.status_code == 200, opened.text
    student = campus.as_(school.students["110001"], "student")
    records = (
        {"category": "service", "brief": "淨灘", "fields": {"name": "淨灘",
         "organisation": "海洋保育協會", "start_date": "115/09/05", "hours": "4"}},
        {"category": "competition", "brief": "科展", "fields": {"name": "科展", "level": "2",
         "announced_on": "115/10/01", "team": "1"}},
    )  # fmt: skip
    for record in records:
        deadline = time.monotonic() + 20
        while True:  # performances learns of the student from identity
            created = await gw.post(f"{base}/performances", headers=student,
                                    json={"academic_year": 115, **record})  # fmt: skip
            if created.status_code == 201:
                break
            assert time.monotonic() < deadline, created.text
            await asyncio.sleep(0.2)
    return school


async def test_parameters_form_saves_a_merge_patch(campus: Any) -> None:
    gw = campus.gateway
    school = await school_with_records(campus)
    api_path = f"{campus.performances}/parameters/115"
    async with campus.portal(school.staff["T002"], "performance_submitter") as page:
        shown = await page.get("/performances/parameters", params={"academic_year": "115"})
        assert shown.status_code == 200, shown.text
        for label in ('for="fill_from"', 'for="select_until"', 'for="selections_per_year"',
                      'for="file_limits-pdf"'):  # fmt: skip
            assert label in shown.text
        values = form_values(shown.text)
        assert values["selections_per_year"] == "10"
        assert values["limit_pdf"] == "4"
        before = (await gw.get(api_path, headers=school.admin)).json()

        values.update(selections_per_year="8", brief_max_chars="150",
                      select_until="2099-07-31T17:30", limit_mp3="")  # fmt: skip
        saved = await page.post("/performances/parameters", data=values)
        assert saved.status_code == 303, saved.text
        assert "參數設定已儲存" in (await page.get(saved.headers["location"])).text
        after = (await gw.get(api_path, headers=school.admin)).json()
        assert after["selections_per_year"] == 8
        assert after["brief_max_chars"] == 150
        assert after["select_until"].startswith("2099-07-31T09:30")  # 17:30 in Taiwan
        assert "mp3" not in after["file_limits"]
        assert after["fill_from"] == before["fill_from"]  # untouched fields are not resent
        assert after["version"] == before["version"] + 1

        # The form read before the save is stale now: 409 with the API's message.
        stale = await page.post(
            "/performances/parameters", data={**values, "files_per_record": "4"}
        )
        assert stale.status_code == 409, stale.text
        assert "重新載入" in text_of(stale.text)

        fresh = form_values((await page.get("/performances/parameters?academic_year=115")).text)
        backwards = await page.post(
            "/performances/parameters",
            data={**fresh, "fill_from": "2099-03-01T08:00", "fill_until": "2099-02-01T08:00"},
        )
        assert backwards.status_code == 422, backwards.text
        assert 'id="fill_until-error"' in backwards.text
        local = await page.post(
            "/performances/parameters", data={**fresh, "selections_per_year": "31"}
        )
        assert local.status_code == 422
        assert 'id="selections_per_year-error"' in local.text
    assert (await gw.get(api_path, headers=school.admin)).json()["version"] == after["version"]


async def test_status_by_class_with_chart_and_by_student_with_filters(campus: Any) -> None:
    school = await school_with_records(campus)
    async with campus.portal(school.staff["T002"], "performance_submitter") as page:
        deadline = time.monotonic() + 20
        while True:
            classes = await page.get("/performances/status", params={"academic_year": "115"})
            assert classes.status_code == 200, classes.text
            row = re.search(r'<th scope="row">101</th>(.*?)</tr>', classes.text, re.S)
            assert row, classes.text
            if re.findall(r"<td>(\d+)</td>", row.group(1))[3:4] == ["2"]:  # filled
                break
            assert time.monotonic() < deadline, text_of(classes.text)
            await asyncio.sleep(0.2)
        # The chart: one bar per class, split by category, with words beside it.
        assert 'role="img"' in classes.text
        assert "各班多元表現填寫筆數（依類別）" in classes.text
        assert 'data-series="service" data-count="1"' in classes.text
        assert 'data-series="competition" data-count="1"' in classes.text
        assert "<desc>" in classes.text
        assert "101：" in text_of(classes.text)  # the chart's description in words
        assert "102" in text_of(classes.text)

        students = await page.get("/performances/status",
                                  params={"view": "students", "academic_year": "115"})  # fmt: skip
        shown = text_of(students.text)
        assert "110001" in shown
        assert "110003" in shown
        one_class = await page.get("/performances/status", params={"view": "students",
                                   "academic_year": "115", "class_code": "102"})  # fmt: skip
        shown = text_of(one_class.text)
        assert "110003" in shown
        assert "110001" not in shown
        assert "共 1 筆" in shown
        by_category = await page.get("/performances/status", params={"view": "students",
                                     "academic_year": "115", "category": "service"})  # fmt: skip
        row = re.search(r'<th scope="row">110001</th>(.*?)</tr>', by_category.text, re.S)
        assert row
        assert re.findall(r"<td>(\d+)</td>", row.group(1))[:2] == ["1", "0"]  # filled, selected
        assert "students.xlsx?academic_year=115&amp;category=service" in by_category.text

        download = await page.get("/performances/status/classes.xlsx",
                                  params={"academic_year": "115"})  # fmt: skip
        assert download.status_code == 200, download.text
        assert download.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert download.content[:2] == b"PK"
        query = {"academic_year": "115", "class_code": "101"}
        students_xlsx = await page.get("/performances/status/students.xlsx", params=query)
        assert students_xlsx.status_code == 200
        assert students_xlsx.content[:2] == b"PK"

    async with campus.portal(school.staff["T002"], "course_submitter") as page:
        for path in ("/performances/status", "/performances/parameters",
                     "/performances/status/classes.xlsx"):  # fmt: skip
            assert (await page.get(path)).status_code == 403, path
