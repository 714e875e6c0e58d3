"""Issue "Done when" for course outcomes, through the gateway: identity's imports reach
course-outcomes over NATS; a student uploads an outcome with a PDF, the teacher fails it with
reason 04, the student edits and resubmits, the teacher certifies, the student selects it, and
the homeroom teacher and the course_submitter see the counts change."""

from __future__ import annotations

from typing import Any

import httpx

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(50_000)
COURSE = "108011302H11101A1010101"


async def test_outcome_round_trip_through_the_gateway(campus: Any) -> None:
    gw = campus.gateway
    courses = campus.courses
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳老師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110002,吳同學,101,2,F131104093,0970812,在籍\n"
        ),
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
    status_url = f"{courses}/status/students"
    term = {"academic_year": 115, "semester": 1}

    async def counts(headers: dict[str, str]) -> dict[str, Any]:
        response = await gw.get(status_url, params=term, headers=headers)
        assert response.status_code == 200, response.text
        return {i["local_no"]: i for i in response.json()["items"]}

    async def homeroom_sees_class() -> httpx.Response:
        response = await gw.get(status_url, params=term, headers=teacher)
        return response if response.json().get("total") == 2 else httpx.Response(425)

    await campus.eventually_ok(homeroom_sees_class, "homeroom class in course-outcomes")
    assert (await counts(submitter))["110001"]["filled"] == 0

    enrolment = (await gw.get(f"{courses}/me/courses", params=term, headers=student)).json()[0][
        "enrolment_id"
    ]
    outcome = (
        await gw.post(
            f"{courses}/outcomes",
            headers=student,
            json={
                "enrolment_id": enrolment,
                "outcome_type": "實作作品",
                "brief": "自製的詩歌朗誦影片腳本",
            },
        )
    ).json()
    oid = outcome["id"]
    attached = await gw.put(
        f"{courses}/outcomes/{oid}/files/document",
        headers=student,
        files={"file": ("腳本.pdf", PDF)},
    )
    assert attached.status_code == 200, attached.text
    assert (await gw.post(f"{courses}/outcomes/{oid}/submission", headers=student)).json()[
        "status"
    ] == "submitted"
    assert (await counts(teacher))["110001"]["submitted"] == 1

    failed = await gw.post(
        f"{courses}/outcomes/{oid}/certification",
        headers=teacher,
        json={"certified": False, "reason_code": "04", "explanation": "請補充創作過程"},
    )
    assert failed.json()["status"] == "failed"
    assert (await counts(submitter))["110001"]["failed"] == 1
    edited = await gw.patch(
        f"{courses}/outcomes/{oid}",
        headers=student,
        json={"brief": "自製的詩歌朗誦影片腳本與創作過程紀錄"},
    )
    assert edited.status_code == 200
    assert (
        await gw.post(f"{courses}/outcomes/{oid}/submission", headers=student)
    ).status_code == 200
    certified = await gw.post(
        f"{courses}/outcomes/{oid}/certification", headers=teacher, json={"certified": True}
    )
    assert certified.json()["status"] == "certified"
    chosen = await gw.put(
        f"{courses}/me/selections", headers=student, json={**term, "outcome_ids": [oid]}
    )
    assert chosen.status_code == 200

    for viewer in (teacher, submitter):
        row = (await counts(viewer))["110001"]
        assert (
            row["filled"],
            row["submitted"],
            row["certified"],
            row["failed"],
            row["selected"],
        ) == (1, 0, 1, 0, 1)
    teachers = (await gw.get(f"{courses}/status/teachers", params=term, headers=submitter)).json()[
        "items"
    ]
    assert [(t["local_no"], t["pending"], t["succeeded"]) for t in teachers] == [("T001", 0, 1)]
