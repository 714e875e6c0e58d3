"""導師's 多元表現 pages through the campus: the class's counts by category as an SVG chart and a
table, the drill-down to one student (counts and 校內幹部), nothing of another class, and the
403 page for other roles."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import httpx
from openpyxl import Workbook, load_workbook

YEAR = 115
PEOPLE = {
    "staff_csv": "教師編號,姓名,email\nT001,陳導師,\nT002,王組長,\nT005,黃導師,\n",
    "classes_csv": "班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n102,1,普一乙,T005\n",
    "students_csv": (
        "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
        "110001,林同學,101,1,A123456789,0970501,在籍\n"
        "110002,吳同學,101,2,F131104093,0970812,在籍\n"
        "110003,張同學,102,7,B120000008,0970101,在籍\n"
    ),
}


def text_of(page: str) -> str:
    """The page's text, tags dropped and entities decoded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _xlsx(book: Workbook) -> bytes:
    out = BytesIO()
    book.save(out)
    return out.getvalue()


async def _import_records(campus: Any, clerk: str) -> None:
    """Two 志工服務 and one 競賽參與 for 林同學, one 志工服務 for 張同學 (another class)."""
    gw, base = campus.gateway, campus.performances
    manager = campus.as_(clerk, "performance_item_manager")
    template = await gw.get(f"{base}/imports/template", headers=manager)
    assert template.status_code == 200, template.text
    book = load_workbook(BytesIO(template.content))
    service = book["志工服務"]
    header = [str(c.value) for c in service[1]]
    for number, name in (("110001", "淨灘"), ("110001", "圖書館志工"), ("110003", "社區服務")):
        row = {"學年度": YEAR, "學號": number, "服務名稱": name, "服務單位": "本校",
               "開始日期": "115/09/01", "時數": 4, "內容簡述": "服務心得"}  # fmt: skip
        service.append([row.get(h) for h in header])
    competitions = book["競賽參與"]
    header = [str(c.value) for c in competitions[1]]
    row = {"學年度": YEAR, "學號": "110001", "競賽名稱": "全國科展", "競賽等級": "3",
           "結果公布日期": "115/10/01", "團體參與": "1", "內容簡述": "比賽心得"}  # fmt: skip
    competitions.append([row.get(h) for h in header])

    async def batch_import() -> httpx.Response:
        return await gw.post(
            f"{base}/imports", files={"file": ("多元.xlsx", _xlsx(book))}, headers=manager
        )

    imported = await campus.eventually_ok(batch_import, "the batch import once people arrived")
    assert imported.json()["created"] == 4
    cadres = await gw.post(
        f"{base}/cadres/imports",
        files={"file": ("幹部.csv", (
            "學年,學期,學號,單位名稱,開始日期,結束日期,擔任職務,幹部等級\n"
            "115,1,110001,熱舞社,1150901,1160131,社長,3\n"
            "115,1,110003,普一乙,1150901,1160131,班長,2\n"
        ).encode())},
        headers=campus.as_(clerk, "cadre_submitter"),
    )  # fmt: skip
    assert cadres.status_code == 200, cadres.text


async def _prove_and_select(campus: Any, clerk: str, student: str, name: str) -> None:
    """Open the year's windows; the student attaches a proof to the record `name` and selects it."""
    gw, base = campus.gateway, campus.performances
    now = datetime.now(UTC)
    opened = await gw.patch(
        f"{base}/parameters/{YEAR}",
        json={"fill_from": (now - timedelta(days=1)).isoformat(),
              "fill_until": (now + timedelta(days=30)).isoformat(),
              "select_from": (now - timedelta(days=1)).isoformat(),
              "select_until": (now + timedelta(days=30)).isoformat()},
        headers={**campus.as_(clerk, "performance_submitter"),
                 "content-type": "application/merge-patch+json"},
    )  # fmt: skip
    assert opened.status_code == 200, opened.text
    me = campus.as_(student, "student")
    mine = await gw.get(f"{base}/me/performances", params={"academic_year": YEAR}, headers=me)
    record = next(r for r in mine.json()["items"] if r["fields"].get("name") == name)
    proof = await gw.post(
        f"{base}/performances/{record['id']}/files",
        files={"file": ("proof.png", b"\x89PNG\r\n\x1a\n" + bytes(600))},
        headers=me,
    )
    assert proof.status_code == 201, proof.text
    chosen = await gw.put(
        f"{base}/me/selections",
        json={"academic_year": YEAR, "performance_ids": [record["id"]]},
        headers=me,
    )
    assert chosen.status_code == 200, chosen.text


async def test_homeroom_sees_class_performances_by_category_and_drills_down(campus: Any) -> None:
    school = await campus.set_up_school(**PEOPLE)
    await _import_records(campus, school.staff["T002"])
    lin, zhang = school.students["110001"], school.students["110003"]
    await _prove_and_select(campus, school.staff["T002"], lin, "淨灘")

    async with campus.portal(school.staff["T001"], "homeroom_teacher") as page:
        shown = await page.get("/homeroom/performances")
        assert shown.status_code == 200, shown.text
        body = shown.text
        assert "林同學" in body
        assert "吳同學" in body
        assert "張同學" not in body  # another class
        assert "110003" not in body
        svg = re.search(r"<svg[^>]*>.*?</svg>", body, re.S)
        assert svg is not None
        assert 'role="img"' in svg.group(0)
        assert re.search(r'aria-label="[^"]*班級 101', svg.group(0))
        assert "志工服務" in svg.group(0)  # the legend in text
        # 林同學's bar: 2 志工服務 and 1 競賽參與, said in words in the chart's description.
        assert re.search(r"01 林同學：[^；]*競賽參與 1[^；]*志工服務 2", svg.group(0))
        row = re.search(r"<tr>\s*<td>1</td>\s*<td>110001</td>.*?</tr>", body, re.S)
        assert row is not None
        assert '<th scope="col">志工服務</th>' in body
        cells = re.findall(r"<td>(\d+)</td>", row.group(0))
        # 座號, 學號, ten categories, 合計, 已勾選, 未附證明, 校內幹部.
        assert cells[2:] == ["0", "1", "0", "2", "0", "0", "0", "0", "0", "0", "3", "1", "2", "1"]
        assert "多元表現共 3 筆" in text_of(body)

        link = f"/homeroom/performances/students/{lin}?academic_year={YEAR}"
        assert link in body
        drilled = await page.get(link)
        assert drilled.status_code == 200, drilled.text
        words = text_of(drilled.text)
        assert "林同學 的多元表現" in words
        assert "志工服務 2" in words
        assert "競賽參與 1" in words
        assert "熱舞社 社長 社團幹部" in words
        assert "115/09/01" in words  # 民國 date
        # Every record of the year, as the API holds it: fields, brief, proof files, 勾選.
        table = re.search(r'<table id="student-records">.*?</table>', drilled.text, re.S)
        assert table is not None
        rows = [text_of(r) for r in re.findall(r"<tr>.*?</tr>", table.group(0), re.S)[1:]]
        assert len(rows) == 3
        assert "林同學 的多元表現紀錄（唯讀，共 3 筆）" in text_of(table.group(0))
        chosen = next(r for r in rows if "淨灘" in r)
        assert "志工服務" in chosen
        assert "服務單位：本校" in chosen
        assert "開始日期：115/09/01" in chosen
        assert "服務心得" in chosen
        assert "學校匯入" in chosen
        assert "1 個" in chosen
        assert "已勾選" in chosen
        contest = next(r for r in rows if "全國科展" in r)
        assert "競賽等級：3 全國" in contest
        assert "0 個" in contest
        assert "未勾選" in contest
        assert "社區服務" not in table.group(0)  # 張同學's record

        other = await page.get(f"/homeroom/performances/students/{zhang}")
        assert other.status_code == 404
        assert "張同學" not in other.text

        another_year = await page.get("/homeroom/performances", params={"academic_year": 114})
        assert another_year.status_code == 200
        assert "多元表現共 0 筆" in text_of(another_year.text)


async def test_other_roles_get_403_and_a_teacher_without_class_sees_nobody(campus: Any) -> None:
    school = await campus.set_up_school(**PEOPLE)
    for person, role in ((school.students["110001"], "student"),
                         (school.staff["T002"], "counselor"),
                         (school.staff["T002"], "performance_submitter")):  # fmt: skip
        async with campus.portal(person, role) as page:
            drill_down = f"/homeroom/performances/students/{school.students['110001']}"
            for path in ("/homeroom/performances", "/homeroom/counseling", drill_down):
                refused = await page.get(path)
                assert refused.status_code == 403, (role, path)
                assert "您沒有使用此功能的權限" in refused.text
                assert "林同學" not in refused.text
    # A 導師 without a class this term: the start pages still answer, with nobody on them.
    async with campus.portal(school.staff["T002"], "homeroom_teacher") as page:
        performances = await page.get("/homeroom/performances")
        assert performances.status_code == 200, performances.text
        assert "此學年度沒有您班級的學生資料" in performances.text
        counseling = await page.get("/homeroom/counseling")
        assert counseling.status_code == 200, counseling.text
        assert "您目前沒有擔任導師的班級" in counseling.text
