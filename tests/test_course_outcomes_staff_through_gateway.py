"""Issue "Course outcomes, ready for the people who use it" — done when, through the gateway: a
teacher sees a queue with student names, batch-certifies three outcomes, names a 代理人 who
certifies one; the 導師 drills into a student; the course submitter downloads the status list
as xlsx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

from openpyxl import load_workbook

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(5_000)
COURSE = "108011302H11101A1010101"
TERM = {"academic_year": 115, "semester": 1}


async def test_queue_batch_substitute_drill_down_and_xlsx(campus: Any) -> None:
    gw, courses = campus.gateway, campus.courses
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳老師,\nT002,王組長,\nT003,林導師,\nT004,許代理,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T003\n102,1,普一乙,T004\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110002,吳同學,101,2,F131104093,0970812,在籍\n"
            "110003,張同學,102,1,B120000008,0970101,在籍\n"
        ),
        course_records=(
            "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
            f"115,1,110001,{COURSE},國語文,4,1,T001,學期課程\n"
            f"115,1,110002,{COURSE},國語文,4,1,T001,學期課程\n"
            f"115,1,110003,{COURSE},國語文,4,1,T001,學期課程\n"
        ),
        importer="T002",
    )
    # The teacher holds no 授課教師 grant: the 修課紀錄 names them, which is enough.
    teacher = campus.as_(school.staff["T001"], "homeroom_teacher")
    submitter = campus.as_(school.staff["T002"], "course_submitter")
    homeroom = campus.as_(school.staff["T003"], "homeroom_teacher")
    substitute = campus.as_(school.staff["T004"], "homeroom_teacher")
    sent: list[str] = []
    for student_no in ("110001", "110002", "110003", "110001"):
        student = campus.as_(school.students[student_no], "student")
        [course] = (await gw.get(f"{courses}/me/courses", params=TERM, headers=student)).json()
        assert course["certifier"]["name"] == "陳老師"
        created = await gw.post(
            f"{courses}/outcomes",
            headers=student,
            json={"enrolment_id": course["enrolment_id"], "outcome_type": "書面報告",
                  "brief": f"{student_no} 的讀書報告"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        oid = created.json()["id"]
        attached = await gw.post(
            f"{courses}/outcomes/{oid}/files", headers=student, files={"file": ("報告.pdf", PDF)}
        )
        assert attached.status_code in (200, 201), attached.text
        submitted = await gw.post(f"{courses}/outcomes/{oid}/submission", headers=student)
        assert submitted.status_code == 200, submitted.text
        sent.append(oid)

    queue = await gw.get(f"{courses}/certifications", params={"sort": "class"}, headers=teacher)
    assert queue.status_code == 200, queue.text
    people = [
        (o["student"]["class_code"], o["student"]["seat_no"], o["student"]["name"])
        for o in queue.json()["items"]
    ]
    assert people == [("101", 1, "林同學"), ("101", 1, "林同學"), ("101", 2, "吳同學"),
                      ("102", 1, "張同學")]  # fmt: skip
    opened = await gw.get(f"{courses}/outcomes/{sent[0]}", headers=teacher)
    assert opened.status_code == 200
    [file] = opened.json()["files"]
    link = await gw.get(f"{courses}/outcomes/{sent[0]}/files/{file['id']}", headers=teacher)
    assert link.status_code == 200, link.text

    batch = await gw.post(
        f"{courses}/certifications/batch",
        json={"certified": True, "outcome_ids": sent[:3]},
        headers=teacher,
    )
    assert batch.status_code == 200, batch.text
    assert batch.json()["succeeded"] == 3

    now = datetime.now(UTC)
    named = await gw.post(
        f"{courses}/delegations",
        json={"substitute_id": school.staff["T004"],
              "starts_at": (now - timedelta(minutes=1)).isoformat(),
              "ends_at": (now + timedelta(days=7)).isoformat()},
        headers=teacher,
    )  # fmt: skip
    assert named.status_code == 201, named.text
    waiting = await gw.get(f"{courses}/certifications", headers=substitute)
    assert [o["id"] for o in waiting.json()["items"]] == [sent[3]]
    by_substitute = await gw.post(
        f"{courses}/outcomes/{sent[3]}/certification", json={"certified": True},
        headers=substitute,
    )  # fmt: skip
    assert by_substitute.status_code == 200, by_substitute.text
    assert by_substitute.json()["decided_by"]["name"] == "許代理"

    classes = await gw.get(f"{courses}/status/classes", params=TERM, headers=homeroom)
    assert [c["class_code"] for c in classes.json()["items"]] == ["101"]
    students = await gw.get(f"{courses}/status/students", params=TERM, headers=homeroom)
    first = next(s for s in students.json()["items"] if s["local_no"] == "110001")
    assert first["certified"] == 2
    drill = await gw.get(
        f"{courses}/outcomes", params={**TERM, "student_id": first["id"]}, headers=homeroom
    )
    assert drill.status_code == 200, drill.text
    assert {o["status"] for o in drill.json()["items"]} == {"certified"}
    assert drill.json()["total"] == 2
    other_class = await gw.get(f"{courses}/outcomes/{sent[2]}", headers=homeroom)
    assert other_class.status_code == 404

    download = await gw.get(f"{courses}/status/students.xlsx", params=TERM, headers=submitter)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(BytesIO(download.content)).active
    assert sheet is not None
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    header = rows[0]
    assert "姓名" in header
    assert "學號" in header
    names = [r[header.index("姓名")] for r in rows[1:4]]
    assert names == ["林同學", "吳同學", "張同學"]
