"""課程學習提交者 pages, through the campus: 參數設定 saved as a merge patch (and its refusals
shown by their fields), the status lists and their xlsx downloads, and 修課紀錄匯入."""

from __future__ import annotations

import html
import re
from typing import Any

COURSE = "108011302H11101A1010101"
RECORDS_HEADER = "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
RECORDS = (
    RECORDS_HEADER + f"115,1,110001,{COURSE},國語文,4,1,T001,學期課程\n"
    f"115,1,110002,{COURSE},國語文,4,1,T001,學期課程\n"
)


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


async def school_with_courses(campus: Any) -> Any:
    return await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳老師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n102,1,普一乙,T001\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110002,吳同學,102,2,F131104093,0970812,在籍\n"
        ),
        course_records=RECORDS,
        importer="T002",
    )


async def test_submitter_saves_parameters_through_the_page(campus: Any) -> None:
    gw = campus.gateway
    school = await school_with_courses(campus)
    api_path = f"{campus.courses}/parameters/115/1"
    async with campus.portal(school.staff["T002"], "course_submitter") as page:
        shown = await page.get("/courses/parameters")
        assert shown.status_code == 200, shown.text
        assert 'type="datetime-local"' in shown.text
        assert 'for="upload_from"' in shown.text
        values = form_values(shown.text)
        assert values["files_per_outcome"] == "2"
        assert values["limit_pdf"] == "4"
        before = (await gw.get(api_path, headers=school.admin)).json()

        values.update(selections_per_semester="2", files_per_outcome="3",
                      select_until="2099-07-31T17:30", limit_mp4="")  # fmt: skip
        saved = await page.post("/courses/parameters", data=values)
        assert saved.status_code == 303, saved.text
        assert "參數設定已儲存" in (await page.get(saved.headers["location"])).text

        after = (await gw.get(api_path, headers=school.admin)).json()
        assert after["selections_per_semester"] == 2
        assert after["files_per_outcome"] == 3
        assert after["select_until"].startswith("2099-07-31T09:30")  # 17:30 in Taiwan
        assert "mp4" not in after["file_limits"]
        assert after["file_limits"]["pdf"] == 4 * 2**20
        assert after["upload_from"] == before["upload_from"]  # untouched fields are not resent
        assert after["version"] == before["version"] + 1

        # The form read before the save is stale now: 409, nothing changes.
        stale = await page.post("/courses/parameters", data={**values, "files_per_outcome": "4"})
        assert stale.status_code == 409, stale.text
        assert 'role="alert"' in stale.text
        assert "重新載入" in stale.text

        fresh = form_values((await page.get("/courses/parameters")).text)
        assert fresh["select_until"] == "2099-07-31T17:30"
        backwards = await page.post(
            "/courses/parameters",
            data={**fresh, "upload_from": "2099-03-01T08:00", "upload_until": "2099-02-01T08:00"},
        )
        assert backwards.status_code == 422, backwards.text
        assert 'id="upload_until-error"' in backwards.text
        assert 'aria-describedby="upload_until-error"' in backwards.text

        local = await page.post("/courses/parameters", data={**fresh, "files_per_outcome": "x"})
        assert local.status_code == 422
        assert 'id="files_per_outcome-error"' in local.text
    assert (await gw.get(api_path, headers=school.admin)).json()["files_per_outcome"] == 3


async def test_status_lists_and_downloads(campus: Any) -> None:
    school = await school_with_courses(campus)
    async with campus.portal(school.staff["T002"], "course_submitter") as page:
        students = await page.get("/courses/status")
        assert students.status_code == 200, students.text
        shown = text_of(students.text)
        assert "110001" in shown
        assert "林同學" in shown
        assert "110002" in shown
        assert "共 2 筆" in shown

        one_class = await page.get("/courses/status", params={"class_code": "101"})
        shown = text_of(one_class.text)
        assert "110001" in shown
        assert "110002" not in shown
        assert "共 1 筆" in shown
        assert "/courses/status/students.xlsx?" in one_class.text

        by_course = await page.get("/courses/status", params={"view": "courses"})
        assert COURSE in by_course.text
        assert "國語文" in by_course.text
        by_class = await page.get("/courses/status", params={"view": "classes", "grade": "1"})
        assert "101" in text_of(by_class.text)
        assert "102" in text_of(by_class.text)
        # The distribution per class as a chart beside the table, described for screen readers.
        assert '<svg role="img"' in by_class.text or 'role="img"' in by_class.text
        assert "各班課程學習成果狀態分布" in by_class.text
        teachers = await page.get("/courses/status", params={"view": "teachers"})
        assert teachers.status_code == 200

        paged = await page.get("/courses/status", params={"limit": "1"})
        assert paged.status_code == 200

        download = await page.get(
            "/courses/status/students.xlsx",
            params={"academic_year": "115", "semester": "1", "class_code": "101"},
        )
        assert download.status_code == 200, download.text
        assert download.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert "attachment" in download.headers["content-disposition"]
        assert download.content[:2] == b"PK"
        classes = await page.get("/courses/status/classes.xlsx")
        assert classes.status_code == 200
        assert classes.content[:2] == b"PK"

    async with campus.portal(school.students["110001"], "student") as page:
        for path in ("/courses/status", "/courses/parameters", "/courses/imports",
                     "/courses/status/students.xlsx"):  # fmt: skip
            assert (await page.get(path)).status_code == 403, path


async def test_course_records_import_page(campus: Any) -> None:
    school = await school_with_courses(campus)
    async with campus.portal(school.staff["T002"], "course_submitter") as page:
        form = await page.get("/courses/imports")
        assert form.status_code == 200
        assert 'enctype="multipart/form-data"' in form.text
        assert 'name="academic_year"' in form.text
        assert 'value="115"' in form.text

        bad = RECORDS_HEADER + f"115,1,999999,{COURSE},國語文,4,1,T001,學期課程\n"
        refused = await page.post(
            "/courses/imports",
            data={"academic_year": "115", "semester": "1"},
            files={"file": ("修課.csv", bad.encode())},
        )
        assert refused.status_code == 422, refused.text
        shown = text_of(refused.text)
        assert "第 2 列" in shown
        assert "unknown_student" in shown

        again = await page.post(
            "/courses/imports",
            data={"academic_year": "115", "semester": "1"},
            files={"file": ("修課.csv", RECORDS.encode())},
        )
        assert again.status_code == 303, again.text
        done = await page.get(again.headers["location"])
        assert "修課紀錄已匯入" in done.text
        assert "資料列 2 筆" in done.text

        template = await page.get("/courses/imports/template")
        assert template.status_code == 200
        assert template.content[:2] == b"PK"
