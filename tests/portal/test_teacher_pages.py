"""授課教師 pages through the campus: the certification queue names the student, a failure with
reason 04 and 說明 is posted through the page, a resubmitted outcome is certified, two are
certified at once by the batch form, files open through the API's short link, and a student
gets the 403 page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(2_000)
COURSE = "108011302H11101A1010101"
TERM = {"academic_year": 115, "semester": 1}


@pytest.fixture
async def school(campus: Any) -> Any:
    return await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳老師,\nT002,王組長,\nT003,李老師,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T003\n102,1,普一乙,T003\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110002,吳同學,101,2,F131104093,0970812,在籍\n"
            "110003,張同學,102,7,B120000008,0970101,在籍\n"
        ),
        course_records=(
            "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
            f"115,1,110001,{COURSE},國語文,4,1,T001,學期課程\n"
            f"115,1,110002,{COURSE},國語文,4,1,T001,學期課程\n"
            f"115,1,110003,{COURSE},國語文,4,1,T001,學期課程\n"
        ),
        importer="T002",
    )


async def _submitted(campus: Any, student_id: str, brief: str) -> str:
    """A student's outcome with a PDF, sent for certification; its id."""
    gw, courses = campus.gateway, campus.courses
    student = campus.as_(student_id, "student")
    enrolment = (await gw.get(f"{courses}/me/courses", params=TERM, headers=student)).json()[0][
        "enrolment_id"
    ]
    created = await gw.post(f"{courses}/outcomes", headers=student,
                            json={"enrolment_id": enrolment, "outcome_type": "書面報告",
                                  "brief": brief})  # fmt: skip
    assert created.status_code == 201, created.text
    oid = str(created.json()["id"])
    attached = await gw.put(f"{courses}/outcomes/{oid}/files/document", headers=student,
                            files={"file": ("報告.pdf", PDF)})  # fmt: skip
    assert attached.status_code == 200, attached.text
    sent = await gw.post(f"{courses}/outcomes/{oid}/submission", headers=student)
    assert sent.status_code == 200, sent.text
    return oid


async def _status(campus: Any, oid: str, student_id: str) -> dict[str, Any]:
    response = await campus.gateway.get(
        f"{campus.courses}/outcomes/{oid}", headers=campus.as_(student_id, "student")
    )
    assert response.status_code == 200, response.text
    outcome: dict[str, Any] = response.json()
    return outcome


async def test_teacher_fails_then_certifies_through_the_page(campus: Any, school: Any) -> None:
    lin = school.students["110001"]
    oid = await _submitted(campus, lin, "閱讀心得報告")
    async with campus.portal(school.staff["T001"], "course_teacher") as page:
        queue = await page.get("/teacher/certifications")
        assert queue.status_code == 200, queue.text
        html = queue.text
        assert "林同學" in html
        assert "110001" in html
        assert ">101<" in html
        assert "閱讀心得報告" in html
        assert f'href="/teacher/certifications/{oid}/files/document"' in html
        assert 'name="outcome_id"' in html  # the batch form's checkboxes

        opened = await page.get(f"/teacher/certifications/{oid}/files/document")
        assert opened.status_code == 303, opened.text
        assert opened.headers["location"].startswith("http")

        review = await page.get(f"/teacher/certifications/{oid}")
        assert review.status_code == 200
        assert "04 請增加成果內容豐富度" in review.text
        assert '<label for="reason_code">' in review.text

        # 認證失敗 without 說明: refused next to the field, nothing decided.
        missing = await page.post(f"/teacher/certifications/{oid}",
                                  data={"decision": "failed", "reason_code": "04"})  # fmt: skip
        assert missing.status_code == 422
        assert 'aria-describedby="explanation-error"' in missing.text
        assert "認證失敗需填寫認證說明" in missing.text
        assert (await _status(campus, oid, lin))["status"] == "submitted"

        failed = await page.post(
            f"/teacher/certifications/{oid}",
            data={"decision": "failed", "reason_code": "04", "explanation": "請補充閱讀歷程"},
        )
        assert failed.status_code == 303
        assert failed.headers["location"] == "/teacher/certifications?done=failed"
        outcome = await _status(campus, oid, lin)
        assert (outcome["status"], outcome["fail_reason"]) == ("failed", "04")
        assert outcome["fail_explanation"] == "請補充閱讀歷程"
        listed = await page.get("/teacher/certifications?status=failed")
        assert "請補充閱讀歷程" in listed.text

        # Deciding it again (it is no longer submitted) is shown on the page, not a crash.
        again = await page.post(f"/teacher/certifications/{oid}", data={"decision": "certified"})
        assert again.status_code == 409
        assert 'role="alert"' in again.text

        student = campus.as_(lin, "student")
        edited = await campus.gateway.patch(f"{campus.courses}/outcomes/{oid}", headers=student,
                                            json={"brief": "閱讀心得報告與閱讀歷程"})  # fmt: skip
        assert edited.status_code == 200, edited.text
        resent = await campus.gateway.post(
            f"{campus.courses}/outcomes/{oid}/submission", headers=student
        )
        assert resent.status_code == 200, resent.text

        certified = await page.post(
            f"/teacher/certifications/{oid}", data={"decision": "certified"}, follow_redirects=True
        )
        assert certified.status_code == 200
        assert "已認證成功" in certified.text
        assert (await _status(campus, oid, lin))["status"] == "certified"

        done = await page.get("/teacher/certifications?status=certified")
        assert f'action="/teacher/certifications/{oid}/revoke"' in done.text
        revoked = await page.post(f"/teacher/certifications/{oid}/revoke")
        assert revoked.status_code == 303
        assert (await _status(campus, oid, lin))["status"] == "draft"


async def test_batch_form_certifies_two_at_once(campus: Any, school: Any) -> None:
    first = await _submitted(campus, school.students["110002"], "讀書報告一")
    second = await _submitted(campus, school.students["110003"], "讀書報告二")
    async with campus.portal(school.staff["T001"], "course_teacher") as page:
        queue = await page.get("/teacher/certifications")
        assert "張同學" in queue.text
        assert ">102<" in queue.text

        nothing = await page.post("/teacher/certifications/batch", data={"decision": "certified"})
        assert nothing.status_code == 422
        assert "請勾選要認證的成果" in nothing.text

        chosen = {"outcome_id": [first, second], "decision": "certified"}
        batch = await page.post("/teacher/certifications/batch", data=chosen)
        assert batch.status_code == 303, batch.text
        assert batch.headers["location"] == "/teacher/certifications?done=batch&n=2"
        for oid, student in ((first, "110002"), (second, "110003")):
            assert (await _status(campus, oid, school.students[student]))["status"] == "certified"
        flash = await page.get(batch.headers["location"])
        assert "已完成 2 件成果的認證" in flash.text
        assert "目前沒有待認證的成果" in flash.text

        # Both already certified: each refusal shown on its row, the page says so.
        again = await page.post("/teacher/certifications/batch", data=chosen)
        assert again.status_code == 409
        assert 'role="alert"' in again.text
        assert again.text.count("此成果不在待認證狀態") == 2


async def test_a_student_gets_the_403_page(campus: Any, school: Any) -> None:
    async with campus.portal(school.students["110001"], "student") as page:
        refused = await page.get("/teacher/certifications")
        assert refused.status_code == 403
        assert 'role="alert"' in refused.text
        assert "林同學" not in refused.text


async def test_a_substitute_certifies_the_teachers_queue(campus: Any, school: Any) -> None:
    oid = await _submitted(campus, school.students["110001"], "代理認證的報告")
    teacher, substitute = school.staff["T001"], school.staff["T003"]
    now = datetime.now(UTC)
    named = await campus.gateway.post(
        f"{campus.courses}/delegations",
        headers=campus.as_(teacher, "course_teacher"),
        json={"substitute_id": substitute, "starts_at": (now - timedelta(minutes=1)).isoformat(),
              "ends_at": (now + timedelta(days=3)).isoformat()},
    )  # fmt: skip
    assert named.status_code == 201, named.text
    delegation = named.json()["id"]

    async with campus.portal(substitute, "homeroom_teacher") as page:
        queue = await page.get("/teacher/certifications")
        assert queue.status_code == 200, queue.text
        assert "代理認證的報告" in queue.text
        assert "代理：陳老師" in queue.text
        mine = await page.get("/teacher/delegations")
        assert "陳老師" in mine.text
        assert "代理中" in mine.text
        decided = {"decision": "certified"}
        certified = await page.post(f"/teacher/certifications/{oid}", data=decided)
        assert certified.status_code == 303
    outcome = await _status(campus, oid, school.students["110001"])
    assert outcome["status"] == "certified"
    assert outcome["decided_by"]["name"] == "李老師"

    async with campus.portal(teacher, "course_teacher") as page:
        given = await page.get("/teacher/delegations")
        assert "李老師" in given.text
        assert f'action="/teacher/delegations/{delegation}/end"' in given.text
        ended = await page.post(f"/teacher/delegations/{delegation}/end", follow_redirects=True)
        assert ended.status_code == 200
        assert "已結束代理" in ended.text
    async with campus.portal(substitute, "homeroom_teacher") as page:
        assert (await page.get("/teacher/certifications")).status_code == 403
