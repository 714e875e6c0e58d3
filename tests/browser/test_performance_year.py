"""Issue "Web portal, part 2" — done when, in Chromium, everyone signing in on Keycloak's own
login page: a student adds a 志工服務 record with proof and selects it; the cadre submitter
imports cadres; the performance submitter runs 預檢 and finds the planted problem (a selected
record whose 簡述 is longer than the 名冊's 100 characters, which the school's own limit let
through), the student shortens it on her page, 預檢 comes back clean, and 名冊 25 is submitted
while the progress bar climbs to 100%; the student's edit is then refused on the page with the
lock message; a counselor records a group consultation that the homeroom teacher then sees.
Every new page is photographed at desktop and phone width and scanned for accessibility."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from licheng.testing.browser import (
    PageOpener,
    accessibility_violations,
    describe_violations,
    screenshot,
)

YEAR = 115
COURSE = "108011302H11101A1010101"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(30_000)
STUDENTS = (
    "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
    "110001,林同學,101,1,A123456789,0970501,在籍\n"
    "110002,吳同學,101,2,F131104093,0970812,在籍\n"
)
# The planted problem: the school allows 200 characters, the 名冊 takes at most 100.
LONG_BRIEF = "為校刊繪製封面與內頁插畫，" * 11
CADRES = (
    "學年,學期,學號,單位名稱,開始日期,結束日期,擔任職務,幹部等級\n"
    "115,1,110001,普一甲,1150901,1160131,班長,2\n"
    "115,1,110002,熱舞社,1150901,1160131,社長,3\n"
)
SignIn = Callable[[Page, str], Awaitable[None]]


async def photograph(page: Page, shots: Path, name: str) -> None:
    """A page: its screenshot and its accessibility scan (no serious violation)."""
    await screenshot(page, shots, name)
    violations = await accessibility_violations(page)
    assert violations == [], f"{name}:\n" + describe_violations(violations)


async def test_a_year_of_performances_in_the_browser(
    sso_school: Any,
    open_page: PageOpener,
    sign_in: SignIn,
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    portal, shots, api = sso_school.portal, screenshot_dir, sso_school.api
    headers = await sso_school.set_up_term(
        staff_csv="教師編號,姓名,email\nT001,陳導師,\nT002,王組長,\nT003,李組長,\nT004,張老師,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n",
        students_csv=STUDENTS,
        courses_csv=(
            "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
            f"115,1,110001,{COURSE},國語文,4,1,T001,學期課程\n"
        ),
    )
    admin = {"authorization": headers["admin"]}
    submitter = await sso_school.grant(admin, "T003", "performance_submitter")
    await sso_school.grant(admin, "T003", "cadre_submitter")
    await sso_school.grant(admin, "T004", "counselor")
    await sso_school.grant(admin, "T002", "performance_item_manager")
    await sso_school.grant(admin, "T002", "certificate_manager")
    users = {
        "student": sso_school.username("s", "110001"),
        "other_student": sso_school.username("s", "110002"),
        "homeroom": sso_school.username("t", "t001"),
        "clerk": sso_school.username("t", "t003"),
        "counselor": sso_school.username("t", "t004"),
        "manager": sso_school.username("t", "t002"),
        "admin": sso_school.username("t", "a1"),
    }
    performances = f"/api/performances/v1/schools/{sso_school.school}"
    now = datetime.now(UTC)
    opened = await api.patch(
        f"{performances}/parameters/{YEAR}",
        json={edge: (now + timedelta(days=-1 if edge.endswith("from") else 9)).isoformat()
              for edge in ("fill_from", "fill_until", "select_from", "select_until")}
        | {"brief_max_chars": 200},
        headers={**submitter, "content-type": "application/merge-patch+json"},
    )  # fmt: skip
    assert opened.status_code == 200, opened.text
    # 吳同學 (the planted problem) has one selected record with a long brief, made by the API.
    other = await sso_school.token(users["other_student"], role="student")
    made = await sso_school.eventually_ok(
        "POST", f"{performances}/performances", headers=other,
        json={"academic_year": YEAR, "category": "work", "brief": LONG_BRIEF,
              "fields": {"name": "校刊插畫", "made_on": "2026-10-01"}},
    )  # fmt: skip
    picked = await api.put(
        f"{performances}/me/selections",
        json={"academic_year": YEAR, "performance_ids": [made.json()["id"]]},
        headers=other,
    )
    assert picked.status_code == 200, picked.text

    # The student adds a 志工服務 record, attaches proof and selects it.
    student = await open_page()
    await sign_in(student, users["student"])
    await student.goto(f"{portal}/student/performances")
    await student.locator("#new-category").select_option(label="志工服務")
    await student.locator("#new-category-go").click()
    await student.locator("#new-name").fill("社區淨灘")
    await student.locator("#new-organisation").fill("海洋保育協會")
    await student.locator("#new-start_date").fill("2026-09-05")
    await student.locator("#new-end_date").fill("2026-09-05")
    await student.locator("#new-hours").fill("4")
    await student.locator("#new-brief").fill("和同學一起清理海灘並記錄垃圾種類")
    async with student.expect_navigation():
        await student.locator("#new-submit").click()
    record_url = student.url.split("?")[0]
    proof = tmp_path / "服務證明.pdf"
    proof.write_bytes(PDF)
    await student.locator("#proof-file").set_input_files(proof)
    async with student.expect_navigation():
        await student.locator("#upload-submit").click()
    await expect(student.get_by_text("服務證明.pdf").first).to_be_visible()
    await photograph(student, shots, "student-performance-record")
    await student.goto(f"{portal}/student/performances")
    pick = student.locator('input[name="performance_ids"]').first
    await pick.check()
    await expect(student.locator("#select-counter")).to_have_text("已勾選 1 筆 / 最多 10 筆")
    async with student.expect_navigation():
        await student.locator("#select-save").click()
    await expect(student.locator('input[name="performance_ids"]').first).to_be_checked()
    await photograph(student, shots, "student-performances")
    await student.goto(f"{portal}/student/writings")
    await photograph(student, shots, "student-writings")
    await student.goto(f"{portal}/student/portfolio")
    await photograph(student, shots, "student-portfolio")

    # The cadre submitter imports the term's cadres and sees them counted per class.
    clerk = await open_page()
    await sign_in(clerk, users["clerk"])
    await clerk.goto(f"{portal}/cadres/imports")
    cadres = tmp_path / "幹部.csv"
    cadres.write_bytes(CADRES.encode("cp950"))
    await clerk.locator("#file").set_input_files(cadres)
    async with clerk.expect_navigation():
        await clerk.locator("#import-cadres").click()
    await expect(clerk.locator("#cadre-class-counts")).to_contain_text("101")
    await photograph(clerk, shots, "cadre-imports")

    # The performance submitter's 預檢 finds the planted problem.
    await clerk.goto(f"{portal}/rosters/25")
    await photograph(clerk, shots, "roster-25")
    async with clerk.expect_navigation():
        await clerk.locator("#precheck-start").click()
    await expect(clerk.locator("#precheck-status")).to_have_attribute(
        "data-state", "done", timeout=60_000
    )
    problems = clerk.locator("#precheck-problems")
    await expect(problems).to_contain_text("吳同學")
    await expect(problems).to_contain_text("超過 100 字上限")
    await photograph(clerk, shots, "roster-25-precheck")

    # 吳同學 shortens the brief on her page; 預檢 comes back clean.
    writer = await open_page()
    await sign_in(writer, users["other_student"])
    await writer.goto(f"{portal}/student/performances/{made.json()['id']}")
    await writer.locator("#edit-brief").fill("為校刊繪製封面與內頁插畫")
    async with writer.expect_navigation():
        await writer.locator("#edit-submit").click()
    await expect(writer.locator("#edit-brief")).to_have_value("為校刊繪製封面與內頁插畫")
    await clerk.goto(f"{portal}/rosters/25")
    async with clerk.expect_navigation():
        await clerk.locator("#precheck-start").click()
    await expect(clerk.locator("#precheck-status")).to_have_attribute(
        "data-state", "done", timeout=60_000
    )
    await expect(clerk.locator("#precheck-problems")).to_have_count(0)

    # 提交: the progress bar climbs to 100% and the run is recorded with its hash.
    async with clerk.expect_navigation():
        await clerk.locator("#submit-roster").click()
    await expect(clerk.locator("#submission-progress")).to_have_attribute(
        "value", "100", timeout=90_000
    )
    await expect(clerk.locator("#submission-status")).to_have_attribute("data-state", "completed")
    await expect(clerk.locator("#submission-status")).to_contain_text("100%")
    await expect(clerk.locator("#lock-state")).to_contain_text("已鎖定")
    await photograph(clerk, shots, "roster-25-submitted")
    for path, name in (
        ("/performances/status", "performance-status"),
        ("/performances/parameters", "performance-parameters"),
    ):
        await clerk.goto(f"{portal}{path}")
        await photograph(clerk, shots, name)

    # The student's edit is now refused on the page with the lock message.
    await student.goto(record_url)
    await student.locator("#edit-brief").fill("想再補充一句")
    await student.locator("#edit-submit").click()
    await expect(student.locator("#edit-msg")).to_contain_text("鎖定")
    shown = await api.get(
        f"{performances}/me/performances",
        params={"academic_year": YEAR},
        headers=await sso_school.token(users["student"], role="student"),
    )
    assert [r["brief"] for r in shown.json()["items"]] == ["和同學一起清理海灘並記錄垃圾種類"]

    # A counselor records a group consultation for class 101; the 導師 sees it.
    await counsel_the_class(sso_school, open_page, sign_in, shots)

    # The item and certificate managers' pages, the course roster and the admin's overview.
    for user, path, name in (
        ("manager", "/performance-items/imports", "performance-items"),
        ("manager", "/certificates", "certificates"),
        ("manager", "/rosters/26", "roster-26"),
        ("admin", "/rosters", "rosters-admin"),
    ):
        desk = await open_page()
        await sign_in(desk, users[user])
        await desk.goto(f"{portal}{path}")
        await expect(desk.locator("h1")).to_be_visible()
        await photograph(desk, shots, name)
        await desk.close()

    # Every new page at phone width.
    for user, path, name in (
        ("student", "/student/performances", "student-performances-phone"),
        ("student", "/student/writings", "student-writings-phone"),
        ("clerk", "/rosters/25", "roster-25-phone"),
        ("clerk", "/cadres/imports", "cadre-imports-phone"),
        ("clerk", "/performances/status", "performance-status-phone"),
        ("counselor", "/counseling", "counseling-phone"),
        ("homeroom", "/homeroom/performances", "homeroom-performances-phone"),
        ("admin", "/rosters", "rosters-admin-phone"),
        ("manager", "/performance-items/imports", "performance-items-phone"),
        ("manager", "/certificates", "certificates-phone"),
        ("student", "/student/portfolio", "student-portfolio-phone"),
        ("homeroom", "/homeroom/counseling", "homeroom-counseling-phone"),
    ):
        phone = await open_page(phone=True)
        await sign_in(phone, users[user])
        await phone.goto(f"{portal}{path}")
        await photograph(phone, shots, name)
        await phone.close()


async def counsel_the_class(
    sso_school: Any, open_page: PageOpener, sign_in: SignIn, shots: Path
) -> None:
    """The counselor's group consultation for class 101 reaches its homeroom teacher's page."""
    portal = sso_school.portal
    counselor = await open_page()
    await sign_in(counselor, sso_school.username("t", "t004"))
    await counselor.goto(f"{portal}/counseling")
    await photograph(counselor, shots, "counseling")
    await counselor.locator("#held_on").fill("2026-10-15")
    await counselor.locator("#mode-group").check()
    await counselor.locator("#class_code").select_option("101")
    await counselor.locator("#topic").fill("選修課程說明會")
    await counselor.locator("#content").fill("說明高二多元選修與加深加廣課程的選課方式")
    async with counselor.expect_navigation():
        await counselor.locator("#counseling-submit").click()
    await expect(counselor.get_by_text("選修課程說明會").first).to_be_visible()
    homeroom = await open_page()
    await sign_in(homeroom, sso_school.username("t", "t001"))
    await homeroom.goto(f"{portal}/homeroom/counseling")
    await expect(homeroom.get_by_text("選修課程說明會").first).to_be_visible()
    await expect(homeroom.get_by_text("林同學").first).to_be_visible()
    await photograph(homeroom, shots, "homeroom-counseling")
    await homeroom.goto(f"{portal}/homeroom/performances")
    await photograph(homeroom, shots, "homeroom-performances")
