"""收訖明細 pages, through the campus: the student sees a planted difference beside what 名冊 26
submitted and reports it; the course submitter, who imported the package on the page, sees the
report and answers; the student sees the answer; the 導師's page links a class PDF that
downloads. A wrong password is refused on the import page with the service's message and
nothing is stored; outside the window the student's page shows the window's message and a
confirmation posted anyway is refused with it."""

from __future__ import annotations

import asyncio
import hashlib
import html
import io
import json
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pyzipper
from openpyxl import load_workbook

COURSE = "108011302H11101A1010101"
TERM = {"academic_year": 115, "semester": 1}
STUDENTS_CSV = (
    "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
    "110001,林同學,101,1,A123456789,0970501,在籍\n"
    "110002,吳同學,101,2,F131104093,0970812,在籍\n"
)
PASSWORD = "國教署-2026"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(2_000)
TAIPEI = ZoneInfo("Asia/Taipei")  # datetime-local inputs are Taiwan time
FIELDS = (
    "開課年級",
    "課程代碼",
    "科目名稱",
    "修課學分",
    "實際修課學年度",
    "實際修課學期",
    "成果簡述",
)


def text_of(page: str) -> str:
    """The page's text, tags dropped and entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def outcome_for(campus: Any, school: Any, no: str, teacher: dict[str, str]) -> None:
    """A student's certified, selected outcome with a PDF."""
    gw, courses = campus.gateway, campus.courses
    student = campus.as_(school.students[no], "student")
    enrolment = (await gw.get(f"{courses}/me/courses", params=TERM, headers=student)).json()[0]
    created = await gw.post(
        f"{courses}/outcomes",
        headers=student,
        json={"enrolment_id": enrolment["enrolment_id"], "outcome_type": "實作作品",
              "brief": f"{no} 的詩歌朗誦腳本"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    oid = created.json()["id"]
    attached = await gw.put(
        f"{courses}/outcomes/{oid}/files/document", headers=student, files={"file": ("a.pdf", PDF)}
    )
    assert attached.status_code == 200, attached.text
    assert (await gw.post(f"{courses}/outcomes/{oid}/submission", headers=student)).is_success
    certified = await gw.post(
        f"{courses}/outcomes/{oid}/certification", headers=teacher, json={"certified": True}
    )
    assert certified.status_code == 200, certified.text
    chosen = await gw.put(
        f"{courses}/me/selections", headers=student, json={**TERM, "outcome_ids": [oid]}
    )
    assert chosen.status_code == 200, chosen.text


async def precheck_rows(campus: Any, headers: dict[str, str]) -> int:
    """Run a 預檢 of 名冊 26 and answer how many rows it saw."""
    gw, exports = campus.gateway, campus.exports
    queued = await gw.post(f"{exports}/prechecks", headers=headers,
                           json={"roster_code": "26", **TERM})  # fmt: skip
    job_id, deadline = queued.json()["id"], time.monotonic() + 60
    while True:
        job = (await gw.get(f"{exports}/jobs/{job_id}", headers=headers)).json()
        if job["state"] in ("done", "failed"):
            assert job["state"] == "done", job
            report = await gw.get(f"{exports}/prechecks/{job_id}", headers=headers)
            return int(report.json()["counts"]["rows"])
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)


async def submitted_rows(campus: Any, headers: dict[str, str]) -> list[list[Any]]:
    """Submit 名冊 26 once the read model has both selections; the submitted sheet's rows."""
    gw, exports = campus.gateway, campus.exports
    deadline = time.monotonic() + 30
    while await precheck_rows(campus, headers) < 2:
        assert time.monotonic() < deadline
    started = await gw.post(f"{exports}/submissions", headers=headers,
                            json={"roster_code": "26", **TERM})  # fmt: skip
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 60
    while True:
        run = (await gw.get(f"{exports}/submissions/{started.json()['id']}",
                            headers=headers)).json()  # fmt: skip
        if run["state"] in ("completed", "failed"):
            break
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.1)
    assert run["state"] == "completed", run
    link = await gw.get(f"{exports}/submissions/{run['id']}/download", headers=headers)
    async with httpx.AsyncClient() as s3:
        package = (await s3.get(link.json()["url"])).content
    archive = zipfile.ZipFile(io.BytesIO(package))
    [name] = [n for n in archive.namelist() if n.endswith(".xlsx")]
    book = load_workbook(io.BytesIO(archive.read(name)), read_only=True)
    return [list(r) for r in book["學期課程學習成果"].iter_rows(values_only=True)]


def receipt_package(rows: list[list[Any]], school: str, *, stranger: bool = False) -> bytes:
    """The central database's answer: the submitted rows as receipt JSON, 110001's 科目名稱
    changed to 國文 (with `stranger`, a third entry no student matches), SHA.txt, in an AES
    ZIP with a password."""
    header, entries = rows[0], []
    for row in rows[1:]:
        values = dict(zip(header, row, strict=False))
        record = {f: values[f] for f in FIELDS}
        if values["身分證號"] == "A123456789":
            record["科目名稱"] = "國文"
        entries.append({"身分證號": values["身分證號"], "出生日期": values["出生日期"],
                        "學期課程學習成果": [record]})  # fmt: skip
    if stranger:  # someone the school does not have
        entries.append({"身分證號": "B120000004", "出生日期": "2008/01/01",
                        "學期課程學習成果": [dict(entries[0]["學期課程學習成果"][0])]})  # fmt: skip
    document = {"名冊資訊": {"學校代碼": school, **TERM}, "課程學習成果": entries}
    data = "\ufeff".encode() + json.dumps(document, ensure_ascii=False).encode()
    name = f"{school}_115_1_課程學習成果.json"
    sha = f"{name},{hashlib.sha256(data).hexdigest().upper()}\r\n".encode()
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(
        buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(PASSWORD.encode())
        archive.writestr(name, data)
        archive.writestr("SHA.txt", sha)
    return buffer.getvalue()


async def test_difference_reported_answered_and_class_pdf(campus: Any) -> None:
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳老師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n",
        students_csv=STUDENTS_CSV,
        course_records=(
            "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
            f"115,1,110001,{COURSE},國語文,4,1,T001,學期課程\n"
            f"115,1,110002,{COURSE},國語文,4,1,T001,學期課程\n"
        ),
        importer="T002",
    )
    teacher = campus.as_(school.staff["T001"], "course_teacher", "homeroom_teacher")
    submitter = campus.as_(school.staff["T002"], "course_submitter")
    for no in ("110001", "110002"):
        await outcome_for(campus, school, no, teacher)
    rows = await submitted_rows(campus, submitter)
    package = receipt_package(rows, campus.school, stranger=True)
    term = {"academic_year": "115", "semester": "1"}

    # The course submitter imports on the page and sets a window open now.
    async with campus.portal(school.staff["T002"], "course_submitter") as page:
        shown = await page.get("/receipts", params=term)
        assert shown.status_code == 200, shown.text
        assert 'href="/receipts"' in shown.text  # the menu entry
        imported = await page.post(
            "/receipts/imports",
            data={"password": PASSWORD, **term},
            files={"file": ("收訖明細.zip", package, "application/zip")},
        )
        assert imported.status_code == 200, imported.text
        result = text_of(imported.text)
        assert "已匯入「收訖明細.zip」" in result
        assert "名單人數 3、比對到的學生 2、紀錄 2、未比對到學生 1" in result
        assert 'id="import-unmatched"' in imported.text
        assert "課程學習成果 3 找不到相符的學生" in result  # 名冊, position, reason
        assert "B120000004" not in imported.text
        now = datetime.now(UTC).astimezone(TAIPEI)
        window = await page.post(
            "/receipts/window",
            data={**term,
                  "opens_at": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
                  "closes_at": (now + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")},
        )  # fmt: skip
        assert window.status_code == 303, window.text
        opens = now - timedelta(hours=1)
        shown = text_of((await page.get(window.headers["location"])).text)
        assert f"{opens.year - 1911}/{opens:%m/%d %H:%M} 至" in shown  # 民國, Taiwan time
        assert "開放中" in shown

    # The student sees the difference, in colour and in words, with both values, and reports it.
    async with campus.portal(school.students["110001"], "student") as page:
        mine = await page.get("/student/receipts", params=term)
        assert mine.status_code == 200, mine.text
        text = text_of(mine.text)
        assert "不同的欄位：科目名稱" in text
        assert "科目名稱 國文 國語文 不同" in text  # received, submitted, the badge
        assert 'class="badge badge-different"' in mine.text
        assert 'id="receipt-confirm"' in mine.text
        assert "R01 欄位內容有誤" in text  # the code table's labels in the report form
        [record_id] = re.findall(r'name="record_id" value="([0-9a-f-]+)"', mine.text)
        reported = await page.post(
            "/student/receipts/reports",
            data={**term, "record_id": record_id, "error_code": "R01", "comment": "應為國語文"},
        )
        assert reported.status_code == 303, reported.text
        after = text_of((await page.get(reported.headers["location"])).text)
        assert "R01 欄位內容有誤－應為國語文" in after
        assert "學校尚未回覆" in after
        assert "已回報問題" in after
        pdf = await page.get("/student/receipts/confirmation.pdf", params=term)
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")

    # The submitter finds it (filtered to open reports of class 101) and answers.
    async with campus.portal(school.staff["T002"], "course_submitter") as page:
        listed = await page.get("/receipts", params={**term, "class_code": "101", "status": "open"})
        assert listed.status_code == 200, listed.text
        [report_id] = re.findall(r'<article class="card receipt-report" id="report-([^"]+)"',
                                 listed.text)  # fmt: skip
        text = text_of(listed.text)
        assert "林同學（110001）" in text
        assert "應為國語文" in text
        assert "科目名稱：國文" in text  # the record as received
        answered = await page.post(
            f"/receipts/reports/{report_id}/answer",
            data={**term, "answer": "will_fix_and_resubmit", "text": "將更正科目名稱後重新提交"},
        )
        assert answered.status_code == 303, answered.text
        none_open = await page.get("/receipts", params={**term, "status": "open"})
        assert 'id="reports-empty"' in none_open.text
        counts = await page.get("/receipts", params=term)
        assert 'id="status-none"' in counts.text  # a submitter who is no 導師 sees no class

    # The admin sees every class's counts on the same page, and their workbook.
    async with campus.portal(school.staff["A1"], "admin") as page:
        counts = await page.get("/receipts", params=term)
        assert counts.status_code == 200, counts.text
        assert "101 2 0 1 1" in text_of(counts.text)  # students, confirmed, reported, silent
        assert 'id="status-xlsx"' in counts.text
        xlsx = await page.get("/receipts/status.xlsx", params=term)
        assert xlsx.status_code == 200, xlsx.text
        assert xlsx.content[:2] == b"PK"

    async with campus.portal(school.students["110001"], "student") as page:
        seen = text_of((await page.get("/student/receipts", params=term)).text)
        assert "學校回覆" in seen
        assert "學校將修正後重新提交－將更正科目名稱後重新提交" in seen

    # The 導師's page: counts of class 101 and its PDF, which downloads.
    async with campus.portal(school.staff["T001"], "homeroom_teacher") as page:
        shown = await page.get("/homeroom/receipts", params=term)
        assert shown.status_code == 200, shown.text
        assert "101 2 0 1 1" in text_of(shown.text)  # students, confirmed, reported, silent
        [link] = re.findall(r'href="([^"]+)" id="class-pdf-101"', shown.text)
        printed = await page.get(html.unescape(link))
        assert printed.status_code == 200, printed.text
        assert printed.headers["content-type"] == "application/pdf"
        assert printed.content.startswith(b"%PDF")
        links = re.findall(r'href="(/homeroom/receipts/students/[^"]+)"', shown.text)
        assert len(links) == 2
        one = await page.get(html.unescape(links[0]))
        assert one.status_code == 200, one.text
        assert one.content.startswith(b"%PDF")


async def test_wrong_password_refused_and_closed_window_shown(campus: Any) -> None:
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T002\n",
        students_csv=STUDENTS_CSV,
    )
    term = {"academic_year": "115", "semester": "1"}
    package = receipt_package(
        [["身分證號", "出生日期", *FIELDS],
         ["A123456789", "2008/05/01", 1, COURSE, "國語文", 4, 115, 1, "腳本"]],
        campus.school,
    )  # fmt: skip
    async with campus.portal(school.staff["T002"], "course_submitter") as page:
        refused = await page.post(
            "/receipts/imports",
            data={"password": "不是這個", **term},
            files={"file": ("收訖明細.zip", package, "application/zip")},
        )
        assert refused.status_code == 422, refused.text
        assert 'id="import-error"' in refused.text
        assert "解壓縮密碼錯誤，無法開啟收訖明細檔案（receipt_wrong_password）" in text_of(
            refused.text
        )
        imports = await campus.gateway.get(
            f"{campus.exports}/receipts/terms/115/1/imports", headers=school.admin
        )
        assert imports.json()["items"] == []
        assert 'id="imports-empty"' in refused.text

        # A window that closed yesterday.
        now = datetime.now(UTC).astimezone(TAIPEI)
        closed = await page.post(
            "/receipts/window",
            data={**term,
                  "opens_at": (now - timedelta(days=6)).strftime("%Y-%m-%dT%H:%M"),
                  "closes_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")},
        )  # fmt: skip
        assert closed.status_code == 303, closed.text
        short = await page.post(
            "/receipts/window",
            data={**term, "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
                  "closes_at": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")},
        )  # fmt: skip
        assert short.status_code == 422, short.text
        assert "學生確認期間至少須 3 天" in text_of(short.text)

    async with campus.portal(school.students["110001"], "student") as page:
        mine = await page.get("/student/receipts", params=term)
        assert mine.status_code == 200, mine.text
        text = text_of(mine.text)
        assert "115 學年度第 1 學期的收訖明細確認期間為" in text
        assert "目前不在確認期間內" in text
        assert 'id="window-message"' in mine.text
        assert 'id="receipt-confirm"' not in mine.text
        nothing = await page.post(
            "/student/receipts/reports",
            data={**term, "record_id": "no-such-record", "error_code": "R01", "comment": "錯"},
        )
        assert nothing.status_code == 422, nothing.text
        assert 'id="receipt-error"' in nothing.text  # said at the top: no record to show it at
        posted = await page.post("/student/receipts/confirmation", data=term)
        assert posted.status_code == 409, posted.text
        assert 'id="confirm-error"' in posted.text
        assert "目前不在確認期間內" in text_of(posted.text)
