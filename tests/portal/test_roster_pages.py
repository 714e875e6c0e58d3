"""名冊 submission pages, through the campus: 預檢 finds a planted problem and, once it is fixed,
none; 提交 名冊 25 with a progress fragment polled until it ends at 100 %; the history with hash
and counts; the ZIP download; another roster's submitter refused; the admin's reopen."""

from __future__ import annotations

import asyncio
import hashlib
import html
import io
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(2_000)
LONG_BRIEF = "社區淨灘志工，" * 20  # 140 characters: over the 名冊's 100


def text_of(page: str) -> str:
    """The page's text, tags dropped and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


async def school_with_a_selected_record(campus: Any) -> tuple[Any, str]:
    """Two students in class 101; 110002 has a selected 志工服務 record whose brief is too long
    for the 名冊 (the year allows 200 characters); the record's id."""
    gw, base = campus.gateway, campus.performances
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳導師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110002,吳同學,101,2,F131104093,0970812,在籍\n"
        ),
    )
    submitter = campus.as_(school.staff["T002"], "performance_submitter")
    now = datetime.now(UTC)
    window = {
        f"{w}_{edge}": (now + timedelta(days=-1 if edge == "from" else 9)).isoformat()
        for w in ("fill", "select")
        for edge in ("from", "until")
    }

    async def open_year() -> httpx.Response:
        return await gw.patch(
            f"{base}/parameters/115",
            json={**window, "brief_max_chars": 200},
            headers={**submitter, "content-type": "application/merge-patch+json"},
        )

    await campus.eventually_ok(open_year, "parameters")
    student = campus.as_(school.students["110002"], "student")

    async def create() -> httpx.Response:
        return await gw.post(
            f"{base}/performances",
            json={"academic_year": 115, "category": "service", "brief": LONG_BRIEF,
                  "fields": {"name": "淨灘", "organisation": "海洋保育協會",
                             "start_date": "115/09/05", "end_date": "115/09/05", "hours": "4"}},
            headers=student,
        )  # fmt: skip

    created = await create()
    deadline = time.monotonic() + 20
    while created.status_code != 201:  # performances learns of the student from identity
        assert time.monotonic() < deadline, created.text
        await asyncio.sleep(0.2)
        created = await create()
    rid = str(created.json()["id"])
    proof = await gw.post(
        f"{base}/performances/{rid}/files", files={"file": ("證明.pdf", PDF)}, headers=student
    )
    assert proof.status_code == 201, proof.text
    chosen = await gw.put(f"{base}/me/selections", headers=student,
                          json={"academic_year": 115, "performance_ids": [rid]})  # fmt: skip
    assert chosen.status_code == 200, chosen.text
    return school, rid


async def run_precheck(page: httpx.AsyncClient) -> str:
    """Start a 預檢 of 名冊 25 on the page and poll its fragment until it ends; the fragment."""
    started = await page.post("/rosters/25/prechecks", data={"academic_year": "115"})
    assert started.status_code == 303, started.text
    job_id = parse_qs(urlparse(started.headers["location"]).query)["precheck"][0]
    shown = await page.get(started.headers["location"])
    assert shown.status_code == 200, shown.text
    assert 'id="precheck-status"' in shown.text
    deadline = time.monotonic() + 60
    while True:
        fragment = await page.get(f"/rosters/25/prechecks/{job_id}")
        assert fragment.status_code == 200, fragment.text
        if 'data-state="done"' in fragment.text:
            assert "hx-trigger" not in fragment.text  # polling stops once the job ends
            return fragment.text
        assert 'data-state="failed"' not in fragment.text, fragment.text
        assert 'hx-trigger="every 1s"' in fragment.text
        assert time.monotonic() < deadline, fragment.text
        await asyncio.sleep(0.3)


async def test_precheck_submit_progress_history_download_and_reopen(campus: Any) -> None:
    gw, exports = campus.gateway, campus.exports
    school, rid = await school_with_a_selected_record(campus)
    student = campus.as_(school.students["110002"], "student")
    clerk = school.staff["T002"]

    async with campus.portal(clerk, "performance_submitter") as page:
        shown = await page.get("/rosters/25")
        assert shown.status_code == 200, shown.text
        assert "未鎖定" in text_of(shown.text)
        for control in ('id="precheck-start"', 'id="submit-roster"', 'name="csrf_token"'):
            assert control in shown.text
        assert 'id="semester"' not in shown.text  # 名冊 25 is kept per 學年度

        # 預檢 until the read model holds the record: the planted problem, with a link.
        deadline = time.monotonic() + 30
        report = await run_precheck(page)
        while "brief_too_long" not in report:
            assert time.monotonic() < deadline, report
            report = await run_precheck(page)
        assert 'id="precheck-problems"' in report
        text = text_of(report)
        assert "服務學習紀錄" in text
        assert "第 2 列" in text
        assert "110002" in text
        assert "吳同學" in text
        assert "超過 100 字上限" in text
        assert (
            "/performances/status?view=students&amp;academic_year=115&amp;class_code=101" in report
        )
        [xlsx_link] = re.findall(r'href="(/rosters/25/prechecks/[^"]+/problems\.xlsx)"', report)
        workbook = await page.get(xlsx_link)
        assert workbook.status_code == 200
        assert workbook.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml"
        )
        assert workbook.content[:2] == b"PK"

        # The fix: the student shortens the brief; the next 預檢 finds nothing.
        fixed = await gw.patch(f"{campus.performances}/performances/{rid}", headers=student,
                               json={"brief": "社區淨灘志工"})  # fmt: skip
        assert fixed.status_code == 200, fixed.text
        deadline = time.monotonic() + 30
        report = await run_precheck(page)
        while "brief_too_long" in report:
            assert time.monotonic() < deadline, report
            report = await run_precheck(page)
        assert "沒有發現問題" in text_of(report)
        assert 'id="precheck-problems"' not in report

        # 提交: the page follows the run with a progress fragment until it ends.
        started = await page.post("/rosters/25/submissions", data={"academic_year": "115"})
        assert started.status_code == 303, started.text
        submission_id = parse_qs(urlparse(started.headers["location"]).query)["submission"][0]
        following = await page.get(started.headers["location"])
        assert following.status_code == 200
        assert 'id="submission-progress"' in following.text
        deadline, percents = time.monotonic() + 60, []
        while True:
            fragment = await page.get(f"/rosters/25/submissions/{submission_id}/progress")
            assert fragment.status_code == 200, fragment.text
            percents.append(
                int(
                    re.search(
                        r'id="submission-progress" max="100" value="(\d+)"', fragment.text
                    ).group(1)
                )
            )  # type: ignore[union-attr]
            if 'data-state="completed"' in fragment.text:
                break
            assert 'data-state="failed"' not in fragment.text, fragment.text
            assert time.monotonic() < deadline, fragment.text
            await asyncio.sleep(0.3)
        assert percents == sorted(percents)
        assert percents[-1] == 100
        assert "100%" in text_of(fragment.text)
        assert "hx-trigger" not in fragment.text.split('id="submission-history"')[0]
        assert 'hx-swap-oob="true"' in fragment.text  # the history is refreshed with it

        run = (await gw.get(f"{exports}/submissions/{submission_id}",
                            headers=campus.as_(clerk, "performance_submitter"))).json()  # fmt: skip
        assert run["state"] == "completed"
        history = await page.get("/rosters/25?academic_year=115")
        text = text_of(history.text)
        assert run["content_hash"] in history.text
        assert "資料列 1" in text
        assert "附件 1" in text
        assert "（您）" in text  # who submitted
        assert "已完成" in text
        assert "已鎖定" in text

        # Download: a redirect to the short-lived link; the ZIP matches the recorded hash.
        download = await page.get(f"/rosters/25/submissions/{submission_id}/download")
        assert download.status_code == 303, download.text
        async with httpx.AsyncClient() as s3:
            package = await s3.get(download.headers["location"])
        assert package.status_code == 200
        assert hashlib.sha256(package.content).hexdigest() == run["content_hash"]
        assert any(
            n.endswith(".xlsx") for n in zipfile.ZipFile(io.BytesIO(package.content)).namelist()
        )

        # A second submit of the same year is refused with the API's message; nothing new.
        again = await page.post("/rosters/25/submissions", data={"academic_year": "115"})
        assert again.status_code == 409, again.text
        assert 'role="alert"' in again.text
        runs = (await gw.get(f"{exports}/submissions", headers=school.admin)).json()["items"]
        assert [r["id"] for r in runs] == [submission_id]

    edit = await gw.patch(f"{campus.performances}/performances/{rid}", headers=student,
                          json={"brief": "再改"})  # fmt: skip
    assert edit.status_code == 423

    # The admin reopens with a reason; without one nothing changes.
    async with campus.portal(school.staff["A1"], "admin") as page:
        overview = await page.get("/rosters")
        assert overview.status_code == 200, overview.text
        assert 'for="reason-25-115-0"' in overview.text
        assert run["content_hash"] in overview.text
        term = {"roster_code": "25", "academic_year": "115", "semester": "0"}
        blank = await page.post("/rosters/reopen", data={**term, "reason": " "})
        assert blank.status_code == 422
        assert "請填寫重新開放的原因" in text_of(blank.text)
        still = await gw.patch(f"{campus.performances}/performances/{rid}", headers=student,
                               json={"brief": "再改"})  # fmt: skip
        assert still.status_code == 423

        reopened = await page.post("/rosters/reopen", data={**term, "reason": "證明文件需更正"})
        assert reopened.status_code == 303, reopened.text
        edit = await gw.patch(f"{campus.performances}/performances/{rid}", headers=student,
                              json={"brief": "再改"})  # fmt: skip
        assert edit.status_code == 200, edit.text
        deadline = time.monotonic() + 20
        while True:  # exports learns of the reopen from the owner's event
            overview = await page.get("/rosters")
            if "已重新開放，可再次提交" in text_of(overview.text):
                break
            assert time.monotonic() < deadline, text_of(overview.text)
            await asyncio.sleep(0.3)
        assert 'for="reason-25-115-0"' not in overview.text

        # Reopening again: the owner's refusal is shown.
        twice = await page.post("/rosters/reopen", data={**term, "reason": "再一次"})
        assert twice.status_code == 404, twice.text
        assert "目前沒有鎖定" in text_of(twice.text)


async def test_another_rosters_submitter_is_refused(campus: Any) -> None:
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T002\n",
        students_csv="學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
        "110001,林同學,101,1,A123456789,0970501,在籍\n",
    )
    async with campus.portal(school.staff["T002"], "course_submitter") as page:
        assert (await page.get("/rosters/26")).status_code == 200
        refused = await page.post("/rosters/25/submissions", data={"academic_year": "115"})
        assert refused.status_code == 403, refused.text
        assert "您沒有提交「學生自填多元表現名冊」的權限" in text_of(refused.text)
        shown = await page.get("/rosters/25")
        assert shown.status_code == 403
        assert "學生自填多元表現名冊" in text_of(shown.text)
        assert (await page.get("/rosters")).status_code == 403
    runs = await campus.gateway.get(f"{campus.exports}/submissions", headers=school.admin)
    assert runs.json()["items"] == []

    # 名冊 26 reopens at course-outcomes: a term never locked is refused there, and shown.
    async with campus.portal(school.staff["A1"], "admin") as page:
        overview = await page.get("/rosters")
        assert overview.status_code == 200
        assert "尚無提交紀錄" in text_of(overview.text)
        term = {"roster_code": "26", "academic_year": "115", "semester": "1"}
        refused = await page.post("/rosters/reopen", data={**term, "reason": "更正"})
        assert refused.status_code == 404, refused.text
        assert "此學期目前沒有鎖定" in text_of(refused.text)
