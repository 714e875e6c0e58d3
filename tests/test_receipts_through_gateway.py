"""Issue #17 (收訖明細) — done when, through the gateway: the course submitter imports a receipt
package for 名冊 26, a student sees the difference between what was submitted and what was
received, reports one record, the submitter answers, the homeroom teacher prints the class's
歷程確認單. The package is made from the real submitted workbook, as the central database would
send it back, with one field changed; every service runs for real behind the gateway."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pypdf
import pytest
import pyzipper
from openpyxl import load_workbook

COURSE = "108011302H11101A1010101"
TERM = {"academic_year": 115, "semester": 1}
STUDENTS_CSV = (
    "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
    "110001,林同學,101,1,A123456789,0970501,在籍\n"
    "110002,吳同學,101,2,F131104093,0970812,在籍\n"
)
SECRETS = ("A123456789", "F131104093", "2008-05-01", "2008-08-12", "2008/05/01", "2008/08/12")
PASSWORD = "國教署-2026"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(2_000)


async def wait_until_finished(campus: Any, headers: dict[str, str], url: str) -> dict[str, Any]:
    """Poll a submission until it ends."""
    deadline = time.monotonic() + 60
    while True:
        body: dict[str, Any] = (await campus.gateway.get(url, headers=headers)).json()
        if body["state"] in ("completed", "failed"):
            return body
        assert time.monotonic() < deadline, f"still {body['state']}"
        await asyncio.sleep(0.1)


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


async def submitted_sheet(
    campus: Any, headers: dict[str, str], submission: dict[str, Any]
) -> list[list[Any]]:
    """The 學期課程學習成果 rows of the submitted package (header first)."""
    link = await campus.gateway.get(
        f"{campus.exports}/submissions/{submission['id']}/download", headers=headers
    )
    assert link.status_code == 200, link.text
    async with httpx.AsyncClient() as s3:
        package = (await s3.get(link.json()["url"])).content
    archive = zipfile.ZipFile(io.BytesIO(package))
    [name] = [n for n in archive.namelist() if n.endswith(".xlsx")]
    book = load_workbook(io.BytesIO(archive.read(name)), read_only=True)
    return [list(r) for r in book["學期課程學習成果"].iter_rows(values_only=True)]


def receipt_package(rows: list[list[Any]], school: str) -> bytes:
    """The central database's answer: the submitted rows as receipt JSON (UTF-8 with BOM),
    110001's 科目名稱 changed, SHA.txt, in an AES ZIP with a password."""
    header, entries = rows[0], []
    fields = ["開課年級", "課程代碼", "科目名稱", "修課學分", "實際修課學年度", "實際修課學期",
              "成果簡述"]  # fmt: skip
    for row in rows[1:]:
        values = dict(zip(header, row, strict=False))
        record = {f: values[f] for f in fields}
        if values["身分證號"] == "A123456789":
            record["科目名稱"] = "國文"
        entries.append({"身分證號": values["身分證號"], "出生日期": values["出生日期"],
                        "學期課程學習成果": [record]})  # fmt: skip
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


async def test_receipt_of_roster_26_compared_reported_answered_and_printed(
    campus: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    gw, exports = campus.gateway, campus.exports
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
    student = campus.as_(school.students["110001"], "student")
    for no in ("110001", "110002"):
        await outcome_for(campus, school, no, teacher)

    # 名冊 26 is submitted once the read model has both selections (the 預檢 says so).
    deadline = time.monotonic() + 30
    while True:
        queued = await gw.post(f"{exports}/prechecks", headers=submitter,
                               json={"roster_code": "26", **TERM})  # fmt: skip
        job = await wait_until_finished_job(campus, submitter, queued.json()["id"])
        if job["result_rows"] >= 2:
            break
        assert time.monotonic() < deadline, job
    started = await gw.post(f"{exports}/submissions", headers=submitter,
                            json={"roster_code": "26", **TERM})  # fmt: skip
    assert started.status_code == 202, started.text
    submission = await wait_until_finished(
        campus, submitter, f"{exports}/submissions/{started.json()['id']}"
    )
    assert submission["state"] == "completed", submission
    rows = await submitted_sheet(campus, submitter, submission)

    # The course submitter imports the receipt package.
    package = receipt_package(rows, campus.school)
    imported = await gw.post(
        f"{exports}/receipts/imports",
        headers=submitter,
        files={"file": ("收訖明細.zip", package, "application/zip")},
        data={"password": PASSWORD, "academic_year": "115", "semester": "1"},
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["counts"]["students"] == 2
    assert imported.json()["unmatched"] == []
    now = datetime.now(UTC)
    window = await gw.put(
        f"{exports}/receipts/terms/115/1/window",
        headers=submitter,
        json={"opens_at": (now - timedelta(hours=1)).isoformat(),
              "closes_at": (now + timedelta(days=5)).isoformat()},
    )  # fmt: skip
    assert window.status_code == 200, window.text

    # The student sees the difference.
    mine = await gw.get(f"{exports}/me/receipts/terms/115/1", headers=student)
    assert mine.status_code == 200, mine.text
    [roster] = mine.json()["rosters"]
    assert (roster["roster_code"], roster["submission_id"]) == ("26", submission["id"])
    [record] = roster["sheets"][0]["records"]
    assert record["status"] == "different"
    assert record["differences"] == ["科目名稱"]
    assert (record["submitted"]["科目名稱"], record["received"]["科目名稱"]) == ("國語文", "國文")

    # …reports it; the submitter lists and answers; the student sees the answer.
    reported = await gw.post(
        f"{exports}/me/receipts/terms/115/1/reports",
        headers=student,
        json={"record_id": record["record_id"], "error_code": "R01", "comment": "應為國語文"},
    )
    assert reported.status_code == 201, reported.text
    listed = await gw.get(
        f"{exports}/receipts/terms/115/1/reports",
        headers=submitter,
        params={"class_code": "101", "status": "open"},
    )
    [item] = listed.json()["items"]
    assert item["student_no"] == "110001"
    answered = await gw.post(
        f"{exports}/receipts/reports/{item['id']}/answer",
        headers=submitter,
        json={"answer": "will_fix_and_resubmit", "text": "將更正科目名稱後重新提交"},
    )
    assert answered.status_code == 200, answered.text
    seen = (await gw.get(f"{exports}/me/receipts/terms/115/1", headers=student)).json()
    assert seen["reports"][0]["answer_text"] == "將更正科目名稱後重新提交"

    # The homeroom teacher prints the class's 歷程確認單.
    printed = await gw.get(
        f"{exports}/receipts/terms/115/1/classes/101/confirmation.pdf", headers=teacher
    )
    assert printed.status_code == 200, printed.text
    assert printed.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(printed.content))
    text = "".join("".join(p.extract_text().split()) for p in reader.pages)
    for expected in ("學習歷程確認單", "林同學", "吳同學", "國文", "將更正科目名稱後重新提交"):
        assert expected in text

    logged = capsys.readouterr().out
    for secret in SECRETS:
        assert secret not in logged
        assert secret not in text


async def wait_until_finished_job(
    campus: Any, headers: dict[str, str], job_id: str
) -> dict[str, Any]:
    """Wait for a 預檢 and answer its state and how many rows it saw."""
    deadline = time.monotonic() + 60
    while True:
        job = (await campus.gateway.get(f"{campus.exports}/jobs/{job_id}", headers=headers)).json()
        if job["state"] in ("done", "failed"):
            assert job["state"] == "done", job
            report = await campus.gateway.get(
                f"{campus.exports}/prechecks/{job_id}", headers=headers
            )
            return {**job, "result_rows": report.json()["counts"]["rows"]}
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.1)
