"""Issue "Exports service" — done when, through the gateway: the course submitter runs 預檢 (which
finds a planted missing attachment), submits 名冊 26, follows the job to 100 %, downloads the
ZIP, and the student's later edit is refused with 423; the same for 名冊 25 and 24 by their
submitters; the student downloads their own portfolio. The package is checked as the central
database would read it, and no 身分證號 or birth date appears in logs, events or object keys."""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.js.errors import NotFoundError
from openpyxl import load_workbook

from licheng.contracts.events import STREAMS
from licheng.kit.storage import ObjectStorage

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(20_000)
COURSE = "108011302H11101A1010101"
TERM = {"academic_year": 115, "semester": 1}
STUDENTS_CSV = (
    "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
    '110001,=HYPERLINK("x"),101,1,A123456789,0970501,在籍\n'
    "110002,吳同學,101,2,F131104093,0970812,在籍\n"
)
SECRETS = ("A123456789", "F131104093", "2008-05-01", "2008-08-12", "0970501", "0970812")
LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def valid_national_id(value: str) -> bool:
    """The 身分證號 checksum (letter → two digits, weights 1,9,8,…,1)."""
    if len(value) != 10 or value[0] not in LETTERS or not value[1:].isdigit():
        return False
    code = LETTERS.index(value[0]) + 10
    digits = [code // 10, code % 10, *map(int, value[1:])]
    weights = [1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1]
    return sum(d * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


async def wait_job(campus: Any, headers: dict[str, str], url: str, what: str) -> dict[str, Any]:
    """Poll a submission or job until it ends; the percentages seen must only grow."""
    deadline, seen = time.monotonic() + 60, []
    while True:
        body = (await campus.gateway.get(url, headers=headers)).json()
        job = body.get("job", body) or {}
        seen.append(job.get("percent", 0))
        state = body["state"]
        if state in ("completed", "done", "failed"):
            assert seen == sorted(seen), f"{what}: progress went backwards {seen}"
            return body
        assert time.monotonic() < deadline, f"{what}: still {state}"
        await asyncio.sleep(0.1)


async def fetch_package(campus: Any, headers: dict[str, str], submission: dict[str, Any]) -> bytes:
    """Download a completed submission's ZIP through its short-lived link."""
    link = await campus.gateway.get(
        f"{campus.exports}/submissions/{submission['id']}/download", headers=headers
    )
    assert link.status_code == 200, link.text
    async with httpx.AsyncClient() as s3:
        package = await s3.get(link.json()["url"])
    assert package.status_code == 200
    assert hashlib.sha256(package.content).hexdigest() == submission["content_hash"]
    return package.content


def read_package(data: bytes) -> tuple[dict[str, list[list[Any]]], dict[str, bytes]]:
    """The workbook's sheets (rows of values) and every file, after checking SHA.txt."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    files = {name: archive.read(name) for name in archive.namelist()}
    listed = dict(
        reversed(line.split("  ", 1)) for line in files.pop("SHA.txt").decode().splitlines()
    )
    assert listed == {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}
    [workbook_name] = [n for n in files if n.endswith(".xlsx")]
    book = load_workbook(io.BytesIO(files[workbook_name]), read_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}
    for rows in sheets.values():
        for row in rows[1:]:
            for value in row:
                assert not (isinstance(value, str) and value[:1] in "=+-@\t\r"), value
    return sheets, files


async def outcome_for(campus: Any, school: Any, no: str, teacher: dict[str, str]) -> str:
    """A student's certified, selected outcome with a PDF; its id."""
    gw, courses = campus.gateway, campus.courses
    student = campus.as_(school.students[no], "student")
    enrolment = (await gw.get(f"{courses}/me/courses", params=TERM, headers=student)).json()[0]
    created = await gw.post(
        f"{courses}/outcomes",
        headers=student,
        json={"enrolment_id": enrolment["enrolment_id"], "outcome_type": "實作作品",
              "brief": "=cmd|' /C calc'!A0 詩歌朗誦腳本"},
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
    return str(oid)


async def test_roster_26_precheck_submit_download_lock(
    campus: Any, storage: ObjectStorage, capsys: pytest.CaptureFixture[str], nats_client: Any
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
    first = await outcome_for(campus, school, "110001", teacher)
    second = await outcome_for(campus, school, "110002", teacher)
    # Plant a problem: the second outcome's file vanishes from storage.
    owner = school.students["110002"]
    [key] = [
        o.object_name
        for o in storage.client.list_objects(
            "licheng-uploads", prefix=f"{campus.school}/{owner}/{second}/", recursive=True
        )
    ]
    await storage.remove(bucket="licheng-uploads", key=key)

    async def precheck() -> dict[str, Any]:
        queued = await gw.post(f"{exports}/prechecks", headers=submitter,
                               json={"roster_code": "26", **TERM})  # fmt: skip
        assert queued.status_code == 202, queued.text
        job = await wait_job(campus, submitter, f"{exports}/jobs/{queued.json()['id']}", "預檢")
        assert job["state"] == "done", job
        report = await gw.get(f"{exports}/prechecks/{job['id']}", headers=submitter)
        assert report.status_code == 200, report.text
        return dict(report.json())

    deadline = time.monotonic() + 20
    report = await precheck()
    while report["counts"]["rows"] < 2:  # the read model catches up with the selections
        assert time.monotonic() < deadline, report
        report = await precheck()
    problems = {(p["code"], p["student_no"], p["sheet"], p["row"]) for p in report["problems"]}
    assert ("attachment_missing", "110002", "學期課程學習成果", 3) in problems
    assert ("brief_too_long", "110001", "學期課程學習成果", 2) not in problems
    sheet = await gw.get(
        f"{exports}/prechecks/{report['job']['id']}/problems.xlsx", headers=submitter
    )
    assert sheet.status_code == 200
    assert "attachment_missing" in str(
        list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))
    )
    # The fix: the file is put back where it belongs.
    await asyncio.to_thread(
        storage.client.put_object, "licheng-uploads", key, io.BytesIO(PDF), len(PDF)
    )

    # Only the roster's own submitter; a course submitter cannot submit 名冊 25.
    refused = await gw.post(f"{exports}/submissions", headers=submitter,
                            json={"roster_code": "25", "academic_year": 115})  # fmt: skip
    assert refused.status_code == 403
    assert refused.json()["error"] == "roster_not_allowed"

    started = await gw.post(f"{exports}/submissions", headers=submitter,
                            json={"roster_code": "26", **TERM})  # fmt: skip
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "requested"
    submission = await wait_job(
        campus, submitter, f"{exports}/submissions/{started.json()['id']}", "提交 26"
    )
    assert submission["state"] == "completed", submission
    assert submission["job"]["percent"] == 100
    assert (submission["counts"]["rows"], submission["counts"]["files"]) == (2, 2)
    again = await gw.post(f"{exports}/submissions", headers=submitter,
                          json={"roster_code": "26", **TERM})  # fmt: skip
    assert (again.status_code, again.json()["error"]) == (409, "already_submitted")

    sheets, files = read_package(await fetch_package(campus, submitter, submission))
    assert sheets["封面"] == [
        ["學校代碼", "學年度", "學期", "名冊別"],
        [campus.school, 115, 1, "26"],
    ]
    rows = sheets["學期課程學習成果"]
    assert rows[0][:2] == ["身分證號", "出生日期"]
    assert [r[0] for r in rows[1:]] == ["A123456789", "F131104093"]
    assert all(valid_national_id(r[0]) for r in rows[1:])
    assert rows[1][1] == "2008/05/01"
    assert rows[1][3] == COURSE
    assert rows[0][8] == "成果簡述" or "成果簡述" in rows[0]
    brief = rows[1][rows[0].index("成果簡述")]
    assert brief.startswith("'=cmd"), brief  # neutralised, still readable
    attachments = [n for n in files if n.startswith("attachments/")]
    assert sorted(attachments) == sorted(f"attachments/{oid}-1.pdf" for oid in (first, second))
    assert all(files[n] == PDF for n in attachments)

    # The term is locked at its owner: the student's edit is refused.
    edit = await gw.patch(
        f"{campus.courses}/outcomes/{first}",
        headers=campus.as_(school.students["110001"], "student"),
        json={"brief": "改一下"},
    )
    assert edit.status_code == 423, edit.text

    # The student's own portfolio: their selected outcome and its file.
    portfolio = await gw.get(
        f"{exports}/me/portfolio", headers=campus.as_(school.students["110001"], "student")
    )
    assert portfolio.status_code == 200, portfolio.text
    names = zipfile.ZipFile(io.BytesIO(portfolio.content)).namelist()
    assert {"index.html", "index.pdf"} <= set(names)

    # No identifier in logs, events or object keys.
    logged = capsys.readouterr().out + capsys.readouterr().err
    for secret in SECRETS:
        assert secret not in logged
    keys = [
        o.object_name
        for bucket in ("licheng-uploads", "licheng-exports")
        for o in storage.client.list_objects(bucket, recursive=True)
    ]
    assert any(k.startswith(f"rosters/{campus.school}/") for k in keys)
    for secret in SECRETS:
        assert not any(secret in k for k in keys)
    await assert_no_identifier_in_events(nats_client, campus.school)


async def assert_no_identifier_in_events(nats_client: Any, school: str) -> None:
    """Read every event of the school on the streams and look for identifiers."""
    js = nats_client.jetstream()
    for key in ("identity", "course_outcomes", "performances", "exports", "export_jobs"):
        info = await js.stream_info(STREAMS[key].name)
        if not info.state.messages:
            continue
        for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
            try:
                message = await js.get_msg(STREAMS[key].name, seq=seq)
            except NotFoundError:  # taken off the work queue
                continue
            if f".{school}." not in message.subject:
                continue
            body = message.data.decode()
            for secret in SECRETS:
                assert secret not in body, (message.subject, secret)


async def test_rosters_25_and_24_by_their_submitters(campus: Any) -> None:
    gw, base, exports = campus.gateway, campus.performances, campus.exports
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳導師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n",
        students_csv=STUDENTS_CSV,
    )
    clerk = school.staff["T002"]
    performance_submitter = campus.as_(clerk, "performance_submitter")
    cadre_submitter = campus.as_(clerk, "cadre_submitter")
    student = campus.as_(school.students["110002"], "student")
    cadres_csv = (
        "學年,學期,學號,單位名稱,開始日期,結束日期,擔任職務,幹部等級\n"
        "115,1,110001,熱舞社,1150901,1160131,社長,3\n"
        "115,1,110002,普一甲,1150901,1160131,班長,2\n"
    ).encode("cp950")

    async def import_cadres() -> httpx.Response:
        return await gw.post(f"{base}/cadres/imports", files={"file": ("幹部.csv", cadres_csv)},
                             headers=cadre_submitter)  # fmt: skip

    await campus.eventually_ok(import_cadres, "cadres once performances knows the students")
    now = datetime.now(UTC)
    window = {
        f"{w}_{edge}": (now + timedelta(days=-1 if edge == "from" else 9)).isoformat()
        for w in ("fill", "select")
        for edge in ("from", "until")
    }
    opened = await gw.patch(
        f"{base}/parameters/115",
        json=window,
        headers={**performance_submitter, "content-type": "application/merge-patch+json"},
    )
    assert opened.status_code == 200, opened.text
    record = await gw.post(
        f"{base}/performances",
        json={"academic_year": 115, "category": "service", "brief": "社區淨灘志工",
              "fields": {"name": "@淨灘", "organisation": "海洋保育協會",
                         "start_date": "115/09/05", "end_date": "115/09/05", "hours": "4"}},
        headers=student,
    )  # fmt: skip
    assert record.status_code == 201, record.text
    rid = record.json()["id"]
    proof = await gw.post(
        f"{base}/performances/{rid}/files", files={"file": ("證明.pdf", PDF)}, headers=student
    )
    assert proof.status_code == 201, proof.text
    chosen = await gw.put(f"{base}/me/selections", headers=student,
                          json={"academic_year": 115, "performance_ids": [rid]})  # fmt: skip
    assert chosen.status_code == 200, chosen.text

    # A cadre submitter may not submit 名冊 25.
    refused = await gw.post(f"{exports}/submissions", headers=cadre_submitter,
                            json={"roster_code": "25", "academic_year": 115})  # fmt: skip
    assert refused.status_code == 403

    async def submitted(headers: dict[str, str], body: dict[str, Any], rows: int) -> Any:
        """Submit once the read model holds `rows` rows (pre-checked first); the package."""
        deadline = time.monotonic() + 20
        while True:
            queued = await gw.post(f"{exports}/prechecks", headers=headers, json=body)
            job = await wait_job(campus, headers, f"{exports}/jobs/{queued.json()['id']}", "預檢")
            report = (await gw.get(f"{exports}/prechecks/{job['id']}", headers=headers)).json()
            if report["counts"]["rows"] == rows:
                assert report["problems"] == []
                break
            assert time.monotonic() < deadline, report
        started = await gw.post(f"{exports}/submissions", headers=headers, json=body)
        assert started.status_code == 202, started.text
        url = f"{exports}/submissions/{started.json()['id']}"
        done = await wait_job(campus, headers, url, "提交")
        assert done["state"] == "completed", done
        history = await gw.get(f"{exports}/submissions", headers=headers)
        assert [s["id"] for s in history.json()["items"]] == [done["id"]]
        return read_package(await fetch_package(campus, headers, done))

    sheets, files = await submitted(
        performance_submitter, {"roster_code": "25", "academic_year": 115}, 1
    )
    assert sheets["封面"][1] == [campus.school, 115, 0, "25"]
    [row] = sheets["服務學習紀錄"][1:]
    assert row[:2] == ["F131104093", "2008/08/12"]
    assert row[2] == "'@淨灘"
    assert files[f"attachments/{rid}-1.pdf"] == PDF
    edit = await gw.patch(f"{base}/performances/{rid}", headers=student, json={"brief": "改"})
    assert edit.status_code == 423, edit.text

    sheets, _ = await submitted(cadre_submitter, {"roster_code": "24", **TERM}, 2)
    assert sheets["封面"][1] == [campus.school, 115, 1, "24"]
    cadre_rows = sheets["幹部經歷紀錄"]
    assert cadre_rows[0] == [
        "身分證號",
        "出生日期",
        "單位名稱",
        "開始日期",
        "結束日期",
        "擔任職務",
        "幹部等級",
    ]
    assert [(r[0], r[2], r[5]) for r in cadre_rows[1:]] == [
        ("A123456789", "熱舞社", "社長"),
        ("F131104093", "普一甲", "班長"),
    ]
