"""The student's 自傳 / 學習計畫 page and portfolio download through the whole stack: a writing
saved twice shows both versions and their line diff side by side (an empty save is refused
beside the text and keeps nothing); the portfolio download answers the exports API's ZIP with
its content type and file name; staff get the 403 page."""

from __future__ import annotations

import asyncio
import io
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(5_000)
YEAR = 115
FIRST = "我來自花蓮。\n喜歡海洋。\n想讀海洋科學。"
SECOND = "我來自花蓮。\n喜歡海洋與潛水。\n想讀海洋科學。\n也參加淨灘志工。"


async def _school(campus: Any) -> Any:
    return await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳導師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
        ),
    )


def _version(html: str, kind: str) -> str:
    found = re.search(
        rf'id="writing-{kind}-form"[^>]*>\s*<input type="hidden" name="csrf_token" value="[^"]*">'
        r'\s*<input type="hidden" name="version" value="(\d+)">',
        html,
    )
    assert found is not None
    return found[1]


async def test_a_writing_saved_twice_shows_both_versions_side_by_side(campus: Any) -> None:
    school = await _school(campus)
    student_id = school.students["110001"]
    student = campus.as_(student_id, "student")

    async with campus.portal(student_id, "student") as page:
        first = await page.get("/student/writings")
        assert first.status_code == 200, first.text
        assert "尚未撰寫" in first.text
        assert 'id="writing-autobiography"' in first.text
        assert 'id="writing-study_plan"' in first.text

        empty = await page.post(
            "/student/writings/autobiography", data={"text": "   ", "version": "0"}
        )
        assert empty.status_code == 422, empty.text
        assert 'id="writing-autobiography-msg"' in empty.text
        assert 'id="writing-autobiography-error"' in empty.text
        mine = await campus.gateway.get(f"{campus.guidance}/me/writings", headers=student)
        assert {w["kind"]: w["version"] for w in mine.json()} == {
            "autobiography": 0,
            "study_plan": 0,
        }

        saved = await page.post(
            "/student/writings/autobiography",
            data={"text": FIRST, "version": _version(first.text, "autobiography")},
        )
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"].startswith("/student/writings?done=autobiography")
        once = (await page.get("/student/writings?done=autobiography")).text
        assert "已儲存自傳" in once
        assert "儲存第二個版本後即可並排比較" in once

        # A page left open at version 0 cannot overwrite version 1: the API's 409 is shown.
        stale = await page.post(
            "/student/writings/autobiography", data={"text": "舊頁面", "version": "0"}
        )
        assert stale.status_code == 409, stale.text
        assert 'id="writing-autobiography-msg"' in stale.text
        assert "舊頁面" in stale.text  # the text typed is not lost

        again = await page.post(
            "/student/writings/autobiography",
            data={"text": SECOND, "version": _version(once, "autobiography")},
        )
        assert again.status_code == 303, again.text
        mine = await campus.gateway.get(f"{campus.guidance}/me/writings", headers=student)
        [autobiography] = [w for w in mine.json() if w["kind"] == "autobiography"]
        assert autobiography["version"] == 2
        assert autobiography["text"] == SECOND

        twice = (await page.get("/student/writings")).text
        versions = twice[twice.index('id="versions-autobiography"') :]
        versions = versions[: versions.index("</table>")]
        assert "第 2 版（目前）" in versions
        assert "第 1 版" in versions
        diff = twice[twice.index('id="diff-autobiography"') :]
        diff = diff[: diff.index("</table>")]
        assert "第 1 版（左）與第 2 版（右）" in diff
        rows = re.findall(r'<tr data-op="(\w+)">', diff)
        assert rows == ["equal", "replace", "equal", "insert"]
        assert "喜歡海洋。" in diff
        assert "喜歡海洋與潛水。" in diff
        assert "也參加淨灘志工。" in diff
        assert "新增 1 行、刪除 0 行、修改 1 行" in twice

        # Picking the same version on both sides shows no change.
        same = (await page.get("/student/writings?kind=autobiography&old=2&new=2")).text
        assert "兩個版本內容相同" in same

    async with campus.portal(school.staff["T001"], "homeroom_teacher") as teacher:
        assert (await teacher.get("/student/writings")).status_code == 403
        assert (await teacher.get("/student/portfolio/download")).status_code == 403


async def test_the_portfolio_download_answers_the_zip(campus: Any) -> None:
    school = await _school(campus)
    student_id = school.students["110001"]
    student = campus.as_(student_id, "student")
    gw, base = campus.gateway, campus.performances
    now = datetime.now(UTC)
    opened = await gw.patch(
        f"{base}/parameters/{YEAR}",
        json={
            f"{window}_{edge}": (now + timedelta(days=-1 if edge == "from" else 9)).isoformat()
            for window in ("fill", "select")
            for edge in ("from", "until")
        },
        headers={
            **campus.as_(school.staff["T002"], "performance_submitter"),
            "content-type": "application/merge-patch+json",
        },
    )
    assert opened.status_code == 200, opened.text
    created = await gw.post(
        f"{base}/performances",
        json={"academic_year": YEAR, "category": "service", "brief": "社區淨灘志工",
              "fields": {"name": "淨灘", "organisation": "海洋保育協會",
                         "start_date": "2026-09-05", "hours": "4"}},
        headers=student,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    record = created.json()["id"]
    proof = await gw.post(
        f"{base}/performances/{record}/files", files={"file": ("證明.pdf", PDF)}, headers=student
    )
    assert proof.status_code == 201, proof.text
    ticked = await gw.put(
        f"{base}/me/selections",
        json={"academic_year": YEAR, "performance_ids": [record]},
        headers=student,
    )
    assert ticked.status_code == 200, ticked.text

    async with campus.portal(student_id, "student") as page:
        shown = await page.get("/student/portfolio")
        assert shown.status_code == 200, shown.text
        assert 'id="portfolio-zip" href="/student/portfolio/download"' in shown.text

        deadline = time.monotonic() + 30
        while True:  # exports learns the selection from performances' events
            download = await page.get("/student/portfolio/download", timeout=120)
            if download.status_code == 200:
                names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
                if any(name.startswith("files/") for name in names):
                    break
            else:
                assert download.status_code == 404, download.text
                assert "尚未取得您的學生資料" in download.text  # the API's message, as a page
            assert time.monotonic() < deadline, download.text[:500]
            await asyncio.sleep(0.5)
        direct = await gw.get(f"{campus.exports}/me/portfolio", headers=student, timeout=120)
        assert direct.status_code == 200, direct.text

    assert download.headers["content-type"] == direct.headers["content-type"] == "application/zip"
    disposition = download.headers["content-disposition"]
    assert disposition == direct.headers["content-disposition"]
    assert "學習歷程_110001.zip" in unquote(disposition)
    assert download.headers["cache-control"] == "no-store"
    assert {"index.html", "index.pdf"} <= set(names)
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert archive.read("index.pdf").startswith(b"%PDF")
    assert PDF in [archive.read(n) for n in names if n.startswith("files/")]
    assert "淨灘" in archive.read("index.html").decode()
