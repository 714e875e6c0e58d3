"""系統管理者 and district operator pages, through the campus: imports with row errors shown on
the page (and nothing written), grants, announcements, the audit log, 403 pages for people
without the role, and the district operator creating a school."""

from __future__ import annotations

import html
import re
from typing import Any

STAFF = "教師編號,姓名,email\nT001,陳老師,\nT002,王組長,\n"
CLASSES = "班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n"
STUDENTS = (
    "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n110001,林同學,101,1,A123456789,0970501,在籍\n"
)
HEADER = "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"


def text_of(page: str) -> str:
    """The page's text, tags dropped and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


async def test_admin_imports_show_row_errors_and_write_nothing(campus: Any) -> None:
    gw = campus.gateway
    school = await campus.set_up_school(staff_csv=STAFF, classes_csv=CLASSES, students_csv=STUDENTS)
    admin_id = school.staff["A1"]
    bad = (
        HEADER + "110002,吳同學,101,2,F131104093,0970812,在籍\n"
        "110003,張同學,101,3,A12345678X,0970101,在籍\n"
    )
    # What the API says about the same file (all or nothing: asking writes nothing).
    refused = await gw.post(
        f"{campus.identity}/imports/students",
        files={"file": ("bad.csv", bad.encode())},
        headers=school.admin,
    )
    assert refused.status_code == 422, refused.text
    problems = refused.json()["detail"]
    assert problems
    assert all(p["row"] == problems[0]["row"] for p in problems)

    async with campus.portal(admin_id, "admin") as page:
        form = await page.get("/admin/imports")
        assert form.status_code == 200, form.text
        assert 'action="/admin/imports/students"' in form.text
        assert 'for="file-students"' in form.text

        answer = await page.post(
            "/admin/imports/students", files={"file": ("學生.csv", bad.encode("utf-8"))}
        )
        assert answer.status_code == 422, answer.text
        shown = text_of(answer.text)
        assert 'role="alert"' in answer.text
        assert "<table" in answer.text
        assert 'scope="col"' in answer.text
        for problem in problems:
            assert f"第 {problem['row']} 列" in shown
            assert problem["column"] in shown
            assert problem["message"] in shown
        assert "A12345678X" not in shown  # the value itself is never echoed

        students = (await gw.get(f"{campus.identity}/students", headers=school.admin)).json()
        assert {s["local_no"] for s in students["items"]} == {"110001"}

        good = HEADER + "110002,吳同學,101,2,F131104093,0970812,在籍\n"
        done = await page.post(
            "/admin/imports/students", files={"file": ("學生.csv", good.encode("utf-8"))}
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"].startswith("/admin/imports?done=students")
        after = await page.get(done.headers["location"])
        assert "學生資料已匯入" in after.text
        assert "新增 1 筆" in after.text

        empty = await page.post("/admin/imports/students", data={"x": "1"}, files={})
        assert empty.status_code == 422
        assert "請選擇要匯入的檔案" in empty.text

    students = (await gw.get(f"{campus.identity}/students", headers=school.admin)).json()
    assert {s["local_no"] for s in students["items"]} == {"110001", "110002"}


async def test_a_student_gets_the_403_page(campus: Any) -> None:
    school = await campus.set_up_school(staff_csv=STAFF, classes_csv=CLASSES, students_csv=STUDENTS)
    async with campus.portal(school.students["110001"], "student") as page:
        for path in ("/admin/imports", "/admin/grants", "/admin/announcements", "/admin/audit",
                     "/district/schools"):  # fmt: skip
            answer = await page.get(path)
            assert answer.status_code == 403, (path, answer.text)
            assert "您沒有使用此功能的權限" in answer.text
        posted = await page.post(
            "/admin/imports/students", files={"file": ("s.csv", STUDENTS.encode())}
        )
        assert posted.status_code == 403


async def test_admin_grants_announcements_and_audit(campus: Any) -> None:
    gw = campus.gateway
    school = await campus.set_up_school(staff_csv=STAFF, classes_csv=CLASSES, students_csv=STUDENTS)
    teacher = school.staff["T002"]
    async with campus.portal(school.staff["A1"], "admin") as page:
        grants = await page.get("/admin/grants")
        assert grants.status_code == 200, grants.text
        assert "王組長" in grants.text
        assert 'value="course_submitter"' in grants.text
        assert 'value="student"' not in grants.text

        granted = await page.post(
            "/admin/grants", data={"person_id": teacher, "role": "course_submitter"}
        )
        assert granted.status_code == 303, granted.text
        listed = (await gw.get(f"{campus.identity}/grants", headers=school.admin)).json()
        assert any(
            g["person_id"] == teacher and g["role"] == "course_submitter" for g in listed["items"]
        )
        shown = await page.get(granted.headers["location"])
        assert "已授予角色" in shown.text
        assert "課程學習提交者" in text_of(shown.text)

        missing = await page.post("/admin/grants", data={"person_id": "", "role": ""})
        assert missing.status_code == 422
        assert 'id="person_id-error"' in missing.text
        assert 'id="role-error"' in missing.text

        revoked = await page.post(
            "/admin/grants/revoke", data={"person_id": teacher, "role": "course_submitter"}
        )
        assert revoked.status_code == 303
        listed = (await gw.get(f"{campus.identity}/grants", headers=school.admin)).json()
        assert not [g for g in listed["items"] if g["person_id"] == teacher]

        created = await page.post(
            "/admin/announcements",
            data={"title": "期末成果上傳提醒", "body": "請於期限內上傳", "audience": "students",
                  "publish_from": "", "publish_until": "2099-01-31T17:00"},
        )  # fmt: skip
        assert created.status_code == 303, created.text
        items = (
            await gw.get(
                f"{campus.identity}/announcements",
                params={"include_scheduled": "true"},
                headers=school.admin,
            )
        ).json()["items"]
        assert [i["title"] for i in items] == ["期末成果上傳提醒"]
        assert items[0]["publish_until"].startswith("2099-01-31T09:00")  # 17:00 Taiwan time
        listing = await page.get("/admin/announcements")
        assert "期末成果上傳提醒" in listing.text
        assert "公告中" in listing.text

        wrong = await page.post(
            "/admin/announcements",
            data={"title": "", "body": "x", "audience": "all",
                  "publish_from": "2099-02-01T08:00", "publish_until": "2099-01-01T08:00"},
        )  # fmt: skip
        assert wrong.status_code == 422
        assert 'id="title-error"' in wrong.text

        backwards = await page.post(
            "/admin/announcements",
            data={"title": "t", "body": "x", "audience": "all",
                  "publish_from": "2099-02-01T08:00", "publish_until": "2099-01-01T08:00"},
        )  # fmt: skip
        assert backwards.status_code == 422, backwards.text
        assert 'role="alert"' in backwards.text

        deleted = await page.post(f"/admin/announcements/{items[0]['id']}/delete")
        assert deleted.status_code == 303
        assert "期末成果上傳提醒" not in (await page.get("/admin/announcements")).text

        audit = await page.get("/admin/audit")
        assert audit.status_code == 200, audit.text
        assert "announcement.created" in audit.text
        filtered = await page.get("/admin/audit", params={"action": "announcement.deleted"})
        assert "announcement.deleted" in filtered.text
        assert "announcement.created" not in filtered.text
        bad = await page.get("/admin/audit", params={"person_id": "not-a-uuid"})
        assert bad.status_code == 422
        assert 'id="person_id-error"' in bad.text
        courses = await page.get("/admin/audit", params={"source": "course-outcomes"})
        assert courses.status_code == 200, courses.text


async def test_district_operator_creates_a_school(campus: Any) -> None:
    gw = campus.gateway
    school = await campus.set_up_school(staff_csv=STAFF, classes_csv=CLASSES, students_csv=STUDENTS)
    code = f"{(int(campus.school) + 1) % 10**6:06d}"
    async with campus.portal(None, district=True) as page:
        listing = await page.get("/district/schools")
        assert listing.status_code == 200, listing.text
        assert campus.school in listing.text
        assert 'for="admin_staff_no"' in listing.text

        created = await page.post(
            "/district/schools",
            data={"code": code, "name": "新設高中", "academic_year": "115", "semester": "1",
                  "admin_staff_no": "Z9", "admin_name": "新管理者", "admin_email": ""},
        )  # fmt: skip
        assert created.status_code == 303, created.text
        shown = await page.get(created.headers["location"])
        assert f"學校 {code} 已建立" in shown.text
        assert "新設高中" in shown.text

        again = await page.post(
            "/district/schools",
            data={"code": code, "name": "重複", "academic_year": "115", "semester": "1",
                  "admin_staff_no": "Z9", "admin_name": "新管理者"},
        )  # fmt: skip
        assert again.status_code == 409
        assert 'id="code-error"' in again.text

        invalid = await page.post(
            "/district/schools",
            data={"code": "12", "name": "x", "academic_year": "99", "semester": "1",
                  "admin_staff_no": "Z9", "admin_name": "n"},
        )  # fmt: skip
        assert invalid.status_code == 422
        assert 'id="code-error"' in invalid.text
        assert 'id="academic_year-error"' in invalid.text

    answer = await gw.get(
        f"/api/identity/v1/schools/{code}",
        headers=campus.issuer.headers(groups=["/district/operators"]),
    )
    assert answer.status_code == 200
    assert answer.json()["name"] == "新設高中"
    async with campus.portal(school.staff["A1"], "admin") as page:
        assert (await page.get("/district/schools")).status_code == 403
