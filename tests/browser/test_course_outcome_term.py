"""Issue "Web portal, part 1" — done when, in Chromium, everyone signing in on Keycloak's own
login page: a student adds an outcome with a PDF and sends it; the teacher fails it with a
reason; the student reads the reason, edits and sends it again; the teacher certifies; the
student selects it; the 導師 sees the class chart; the admin imports a students file with one
bad row and sees that row's error on the page. Each role's main page is photographed at desktop
and phone width and scanned for accessibility."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from licheng.testing.browser import (
    PageOpener,
    accessibility_violations,
    describe_violations,
    screenshot,
)

COURSE = "108011302H11101A1010101"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(30_000)
STUDENTS = (
    "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
    "110001,林同學,101,1,A123456789,0970501,在籍\n"
    "110002,吳同學,101,2,F131104093,0970812,在籍\n"
)
BAD_STUDENTS = (
    "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
    "110003,張同學,101,3,B120000008,0970101,在籍\n"
    "110004,錯誤列,101,4,A123456788,0970101,在籍\n"
)
SignIn = Callable[[Page, str], Awaitable[None]]


async def photograph(page: Page, shots: Path, name: str) -> None:
    """A main page: its screenshot and its accessibility scan (no serious violation)."""
    await screenshot(page, shots, name)
    violations = await accessibility_violations(page)
    assert violations == [], f"{name}:\n" + describe_violations(violations)


async def test_a_term_of_course_outcomes_in_the_browser(
    sso_school: Any,
    open_page: PageOpener,
    sign_in: SignIn,
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    portal, shots = sso_school.portal, screenshot_dir
    headers = await sso_school.set_up_term(
        staff_csv="教師編號,姓名,email\nT001,陳老師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n",
        students_csv=STUDENTS,
        courses_csv=(
            "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
            f"115,1,110001,{COURSE},國語文,4,1,T001,學期課程\n"
            f"115,1,110002,{COURSE},國語文,4,1,T001,學期課程\n"
        ),
    )
    identity = f"/api/identity/v1/schools/{sso_school.school}"
    admin_headers = {"authorization": headers["admin"]}
    staff = (await sso_school.api.get(f"{identity}/staff", headers=admin_headers)).json()
    teacher_id = next(p["id"] for p in staff["items"] if p["local_no"] == "T001")
    granted = await sso_school.api.put(
        f"{identity}/staff/{teacher_id}/roles/course_teacher", headers=admin_headers
    )
    assert granted.is_success, granted.text
    users = {
        "student": sso_school.username("s", "110001"),
        "teacher": sso_school.username("t", "t001"),
        "admin": sso_school.username("t", "a1"),
    }
    await sso_school.token(users["teacher"], role="course_teacher")

    # The student adds an outcome with a PDF and sends it.
    student = await open_page()
    await sign_in(student, users["student"])
    await student.goto(f"{portal}/student/outcomes")
    await student.get_by_text("新增國語文的成果").click()  # the form folds away until asked for
    new = student.locator('form[action="/student/outcomes/new"]').first
    await new.locator('select[name="outcome_type"]').select_option(index=1)
    await new.locator('textarea[name="brief"]').fill("詩歌朗誦腳本")
    await new.get_by_role("button", name="新增成果").click()
    pdf = tmp_path / "腳本.pdf"
    pdf.write_bytes(PDF)
    upload = student.locator("form[data-upload]").first
    await upload.locator('input[type="file"]').set_input_files(pdf)
    async with student.expect_navigation():
        await upload.get_by_role("button", name="上傳", exact=True).click()
    await expect(student.get_by_text("腳本.pdf").first).to_be_visible()
    await student.get_by_role("button", name="送審").click()
    await expect(student.get_by_text("認證中").first).to_be_visible()
    await photograph(student, shots, "student-outcomes")

    async def decide(certified: bool) -> None:
        await teacher.goto(f"{portal}/teacher/certifications")
        await teacher.get_by_role("link", name="審閱").first.click()
        await teacher.get_by_label("認證成功" if certified else "認證失敗", exact=True).check()
        if not certified:
            await teacher.get_by_label("認證失敗原因代碼（認證失敗時必填）").select_option("04")
            await teacher.get_by_label("認證說明（認證失敗時必填）").fill("請補充創作過程")
        await teacher.get_by_role("button", name="儲存認證結果").click()
        await teacher.wait_for_load_state()

    # The teacher fails it with a reason; the student reads it, edits and sends it again.
    teacher = await open_page()
    await sign_in(teacher, users["teacher"])
    await teacher.goto(f"{portal}/teacher/certifications")
    await expect(teacher.get_by_text("林同學").first).to_be_visible()
    await photograph(teacher, shots, "teacher-certifications")
    await decide(certified=False)
    await student.reload()
    await expect(student.get_by_text("教師說明：請補充創作過程")).to_be_visible()
    await student.get_by_text("修改成果內容").first.click()
    edit = student.locator('form[action$="/edit"]').first
    await edit.locator('textarea[name="brief"]').fill("詩歌朗誦腳本與創作過程")
    await edit.get_by_role("button", name="儲存修改").click()
    await student.get_by_role("button", name="送審").click()
    await expect(student.get_by_text("認證中").first).to_be_visible()

    # The teacher certifies; the student selects it, the counter following the ticks.
    await decide(certified=True)
    await student.reload()
    pick = student.locator('input[name="outcome_ids"]').first
    await pick.check()
    await expect(student.locator("[data-counter]")).to_have_text("已勾選 1 筆 / 最多 3 筆")
    await student.get_by_role("button", name="儲存勾選").click()
    await student.reload()
    await expect(student.locator('input[name="outcome_ids"]').first).to_be_checked()

    # The 導師 (the same teacher) sees the class chart.
    await teacher.goto(f"{portal}/homeroom")
    chart = teacher.get_by_role("img").filter(has_text="101").first
    await expect(teacher.locator('svg[role="img"]').first).to_be_visible()
    del chart
    await photograph(teacher, shots, "homeroom")

    # The admin imports a students file with one bad row and sees that row's error.
    admin = await open_page()
    await sign_in(admin, users["admin"])
    await admin.goto(f"{portal}/admin/imports")
    await photograph(admin, shots, "admin-imports")
    bad = tmp_path / "students.csv"
    bad.write_text(BAD_STUDENTS, encoding="utf-8")
    form = admin.locator('form[action="/admin/imports/students"]')
    await form.locator('input[type="file"]').set_input_files(bad)
    await form.locator('button[type="submit"]').click()
    errors = admin.locator("table.row-errors")
    await expect(errors).to_be_visible()
    await expect(errors.get_by_text("第 3 列")).to_be_visible()
    listed = await sso_school.api.get(f"{identity}/students", headers=admin_headers)
    assert {p["local_no"] for p in listed.json()["items"]} == {"110001", "110002"}

    # Every role's main page on a phone.
    for role, path in (
        ("student", "/student/outcomes"),
        ("teacher", "/teacher/certifications"),
        ("admin", "/admin/imports"),
    ):
        phone = await open_page(phone=True)
        await sign_in(phone, users[role])
        await phone.goto(f"{portal}{path}")
        await photograph(phone, shots, f"{role}-phone")
