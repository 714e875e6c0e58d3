"""The 學生 pages through the gateway: a student creates an outcome on the page, uploads a PDF,
sends it; the teacher fails it (reason 04) and the page shows why; after resubmission and
certification the student ticks it under the limit; a closed 勾選 window and a staff member
opening the student page get clear pages. Also 學生資料維護 and the announcements."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(20_000)
COURSE = "108011302H11101A1010101"


async def _school(campus: Any) -> Any:
    return await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳老師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
        ),
        course_records=(
            "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
            f"115,1,110001,{COURSE},國語文,4,1,T001,學期課程\n"
        ),
        importer="T002",
    )


def _done(response: httpx.Response, done: str) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(f"/student/outcomes?done={done}")


def _article(html: str, outcome_id: str) -> str:
    start = html.index(f'id="outcome-{outcome_id}"')
    return html[start : html.index("</article>", start)]


async def test_a_student_goes_from_draft_to_selection_on_the_page(campus: Any) -> None:
    school = await _school(campus)
    gw, courses = campus.gateway, campus.courses
    student_id = school.students["110001"]
    teacher = campus.as_(school.staff["T001"], "course_teacher")
    submitter = campus.as_(school.staff["T002"], "course_submitter")

    async with campus.portal(student_id, "student") as page:
        first = await page.get("/student/outcomes")
        assert first.status_code == 200, first.text
        assert "115 學年度第 1 學期" in first.text
        assert "國語文" in first.text
        assert COURSE in first.text
        assert "目前沒有已認證的成果可以勾選" in first.text
        enrolment = re.search(r'name="enrolment_id" value="([^"]+)"', first.text)
        assert enrolment is not None

        # A refused form (empty 簡述) is shown next to the field; nothing is created.
        empty = await page.post(
            "/student/outcomes/new",
            data={"enrolment_id": enrolment[1], "outcome_type": "實作作品", "brief": " "},
        )
        assert empty.status_code == 422
        assert 'role="alert"' in empty.text
        assert f'aria-describedby="new-{enrolment[1]}-brief-error"' in empty.text
        assert "已新增課程學習成果" not in empty.text
        assert 'class="card outcome"' not in empty.text

        created = await page.post(
            "/student/outcomes/new",
            data={
                "enrolment_id": enrolment[1],
                "outcome_type": "實作作品",
                "brief": "自製的詩歌朗誦影片腳本",
                "video_url": "",
            },
        )
        _done(created, "created")
        oid = created.headers["location"].split("#outcome-")[1]

        uploaded = await page.post(
            f"/student/outcomes/{oid}/files",
            files={"file": ("腳本.pdf", PDF, "application/pdf")},
        )
        _done(uploaded, "uploaded")
        listed = (await page.get("/student/outcomes?done=uploaded")).text
        assert "檔案已上傳" in listed
        article = _article(listed, oid)
        assert "腳本.pdf" in article
        assert "data-upload" in article
        assert "<progress" in article
        assert "data-upload-status" in article
        assert "草稿" in article

        fake = await page.post(
            f"/student/outcomes/{oid}/files",
            files={"file": ("假的.pdf", b"not a pdf at all", "application/pdf")},
        )
        assert fake.status_code == 415
        assert f'id="upload-{oid}-msg"' in fake.text
        assert _article(fake.text, oid).count('<th scope="row">') == 1  # still the one PDF

        spare = await page.post(
            "/student/outcomes/new",
            data={"enrolment_id": enrolment[1], "outcome_type": "書面報告", "brief": "備用"},
        )
        _done(spare, "created")
        spare_id = spare.headers["location"].split("#outcome-")[1]
        _done(await page.post(f"/student/outcomes/{spare_id}/delete"), "deleted")
        gone = await page.post(f"/student/outcomes/{spare_id}/submission")
        assert gone.status_code == 404
        assert 'id="page-msg"' in gone.text
        assert f'id="outcome-{spare_id}"' not in gone.text

        _done(await page.post(f"/student/outcomes/{oid}/submission"), "submitted")
        article = _article((await page.get("/student/outcomes")).text, oid)
        assert "認證中" in article
        assert "送審</button>" not in article  # no actions on a submitted outcome

        failed = await gw.post(
            f"{courses}/outcomes/{oid}/certification",
            headers=teacher,
            json={"certified": False, "reason_code": "04", "explanation": "請補充創作過程"},
        )
        assert failed.status_code == 200, failed.text
        article = _article((await page.get("/student/outcomes")).text, oid)
        assert "未通過" in article
        assert "請增加成果內容豐富度" in article
        assert "請補充創作過程" in article

        edited = await page.post(
            f"/student/outcomes/{oid}/edit",
            data={"outcome_type": "實作作品", "brief": "腳本與創作過程紀錄", "version": ""},
        )
        _done(edited, "updated")
        _done(await page.post(f"/student/outcomes/{oid}/submission"), "submitted")
        certified = await gw.post(
            f"{courses}/outcomes/{oid}/certification", headers=teacher, json={"certified": True}
        )
        assert certified.status_code == 200, certified.text

        before = (await page.get("/student/outcomes")).text
        assert "已認證" in _article(before, oid)
        assert '<div data-limit="3">' in before
        assert f'id="pick-{oid}" name="outcome_ids" value="{oid}">' in before  # not yet ticked
        _done(
            await page.post("/student/outcomes/selections", data={"outcome_ids": [oid]}),
            "selected",
        )
        after = (await page.get("/student/outcomes")).text
        assert f'value="{oid}" checked' in after
        assert '<p data-counter aria-live="polite">已勾選 1 筆 / 最多 3 筆</p>' in after

        # The 勾選 window closes: the refusal is shown at the form, the selection stands.
        now = datetime.now(UTC)
        closed = await gw.patch(
            f"{courses}/parameters/115/1",
            json={
                "select_from": (now - timedelta(days=2)).isoformat(),
                "select_until": (now - timedelta(days=1)).isoformat(),
            },
            headers={**submitter, "content-type": "application/merge-patch+json"},
        )
        assert closed.status_code == 200, closed.text
        refused = await page.post("/student/outcomes/selections", data={})
        assert refused.status_code == 409
        assert 'id="select-msg"' in refused.text
        assert "勾選" in refused.text
        mine = await gw.get(
            f"{courses}/me/outcomes",
            params={"academic_year": 115, "semester": 1},
            headers=campus.as_(student_id, "student"),
        )
        assert [o["selected"] for o in mine.json()] == [True]

    async with campus.portal(school.staff["T002"], "course_submitter") as staff:
        forbidden = await staff.get("/student/outcomes")
        assert forbidden.status_code == 403
        assert "僅供學生使用" in forbidden.text
        assert "Traceback" not in forbidden.text


async def test_a_student_keeps_contact_data_and_reads_announcements(campus: Any) -> None:
    school = await _school(campus)
    posted = await campus.gateway.post(
        f"{campus.identity}/announcements",
        headers=school.admin,
        json={
            "title": "成果上傳開放",
            "body": "請於期限內上傳。\n逾期不受理。",
            "audience": "students",
        },
    )
    assert posted.status_code == 201, posted.text
    staff_only = await campus.gateway.post(
        f"{campus.identity}/announcements",
        headers=school.admin,
        json={"title": "教師研習", "body": "週三下午", "audience": "staff"},
    )
    assert staff_only.status_code == 201, staff_only.text

    async with campus.portal(school.students["110001"], "student") as page:
        news = await page.get("/announcements")
        assert news.status_code == 200, news.text
        assert "成果上傳開放" in news.text
        assert "<p>逾期不受理。</p>" in news.text
        assert "教師研習" not in news.text

        profile = await page.get("/student/profile")
        assert profile.status_code == 200, profile.text
        assert "110001" in profile.text
        assert "林同學" in profile.text
        assert "A123456789" not in profile.text  # masked

        bad = await page.post(
            "/student/profile", data={"email": "not-an-address", "phone": "0912345678"}
        )
        assert bad.status_code == 422
        assert 'aria-describedby="profile-email-error"' in bad.text
        assert 'value="0912345678"' in bad.text  # what was typed is kept

        saved = await page.post(
            "/student/profile",
            data={"email": "lin@example.tw", "phone": "0912-345-678", "address": "臺北市"},
        )
        assert saved.status_code == 303
        assert saved.headers["location"] == "/student/profile?done=profile"
        shown = (await page.get(saved.headers["location"])).text
        assert "已更新聯絡資料" in shown
        assert 'value="lin@example.tw"' in shown
        assert 'value="0912-345-678"' in shown
