"""校內幹部提交者 pages, through the campus: a file with a bad row shows the row's error and
imports nothing; a good file is imported and the counts per class (chart and table) and per
student show it; the template downloads; other roles get the 403 page."""

from __future__ import annotations

import asyncio
import html
import re
import time
from typing import Any

HEADER = "學年,學期,學號,單位名稱,開始日期,結束日期,擔任職務,幹部等級\n"
GOOD = HEADER + "115,1,110001,熱舞社,1150901,1160131,社長,3\n115,1,110002,普一乙,1150901,,班長,2\n"
BAD = HEADER + "115,1,110001,熱舞社,1150901,1160131,社長,3\n115,1,110002,普一乙,1150901,,班長,9\n"


def text_of(page: str) -> str:
    """The page's text, tags dropped and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def class_row(page: str, class_code: str) -> list[str]:
    """The cells of one class's row in the counts table (after the class code)."""
    row = re.search(rf'<tr data-class="{class_code}">(.*?)</tr>', page, re.S)
    assert row, page
    return [text_of(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))]


async def test_cadre_import_row_errors_then_counts_per_class(campus: Any) -> None:
    gw = campus.gateway
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳導師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n102,1,普一乙,T001\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110002,吳同學,102,3,F131104093,0970812,在籍\n"
        ),
    )
    clerk = school.staff["T002"]
    counts_api = f"{campus.performances}/cadres/counts/classes"
    deadline = time.monotonic() + 20
    while True:  # performances learns of the students from identity
        known = (await gw.get(counts_api, headers=campus.as_(clerk, "cadre_submitter"))).json()
        if sum(c["students"] for c in known["items"]) == 2:
            break
        assert time.monotonic() < deadline, known
        await asyncio.sleep(0.2)

    async with campus.portal(clerk, "cadre_submitter") as page:
        shown = await page.get("/cadres/imports", params={"academic_year": "115", "semester": "1"})
        assert shown.status_code == 200, shown.text
        assert 'enctype="multipart/form-data"' in shown.text
        assert 'for="file"' in shown.text
        assert class_row(shown.text, "101")[4] == "0"  # 幹部紀錄數

        refused = await page.post(
            "/cadres/imports",
            data={"academic_year": "115", "semester": "1"},
            files={"file": ("幹部.csv", BAD.encode("cp950"))},
        )
        assert refused.status_code == 422, refused.text
        shown_text = text_of(refused.text)
        assert "有問題的資料列" in shown_text
        assert "第 3 列" in shown_text
        assert "level_invalid" in shown_text
        assert "幹部等級只能為 1～3" in shown_text
        assert "第 2 列" not in shown_text  # the good row is not listed
        after = (await gw.get(counts_api, headers=school.admin)).json()["items"]
        assert sum(c["cadres"] for c in after) == 0  # nothing imported

        imported = await page.post(
            "/cadres/imports",
            data={"academic_year": "115", "semester": "1"},
            files={"file": ("幹部.csv", GOOD.encode("cp950"))},
        )
        assert imported.status_code == 303, imported.text
        done = await page.get(imported.headers["location"])
        assert "校內幹部資料已匯入：資料列 2 筆、新增 2 筆" in text_of(done.text)
        assert class_row(done.text, "101")[4:8] == ["1", "0", "0", "1"]  # 社團
        assert class_row(done.text, "102")[4:8] == ["1", "0", "1", "0"]  # 班級
        assert 'role="img"' in done.text
        assert "各班校內幹部紀錄數（依幹部等級）" in done.text
        assert 'data-series="club_level" data-count="1"' in done.text

        one_class = await page.get("/cadres/imports", params={"academic_year": "115",
                                   "semester": "1", "class_code": "102"})  # fmt: skip
        assert 'id="cadre-student-counts"' in one_class.text
        students = one_class.text.split('id="cadre-student-counts"')[1]
        assert "110002" in students
        assert "110001" not in students

        other_term = await page.get("/cadres/imports", params={"academic_year": "115",
                                    "semester": "2"})  # fmt: skip
        assert class_row(other_term.text, "101")[4] == "0"

        roster = await page.get("/rosters/24", params={"academic_year": "115", "semester": "1"})
        assert roster.status_code == 200  # the role's 名冊 page
        assert "未鎖定" in text_of(roster.text)

        template = await page.get("/cadres/imports/template")
        assert template.status_code == 200
        assert template.content[:2] == b"PK"

    async with campus.portal(school.students["110001"], "student") as page:
        for path in ("/cadres/imports", "/cadres/imports/template"):
            assert (await page.get(path)).status_code == 403, path
