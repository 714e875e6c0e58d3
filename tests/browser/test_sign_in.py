"""Signing in to the portal through Keycloak's own login page, in Chromium: the admin's start
page shows their menu (and nothing else), looks right on a desktop and a phone, has no serious
accessibility violation, and signing out ends the Keycloak session too."""

from __future__ import annotations

import time
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
from licheng.web.sessions import COOKIE

STAFF = "教師編號,姓名,email\nT001,陳老師,\nT002,王組長,\n"
CLASSES = "班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n"
STUDENTS = (
    "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n110001,林同學,101,1,A123456789,0970501,在籍\n"
)


async def test_admin_signs_in_on_keycloak_and_out_again(
    sso_school: Any,
    open_page: PageOpener,
    sign_in: Callable[[Page, str], Awaitable[None]],
    screenshot_dir: Path,
) -> None:
    operator = await sso_school.token("t-operator", "test-password")
    created = await sso_school.api.post(
        "/api/identity/v1/schools",
        headers=operator,
        json={"code": sso_school.school, "name": "瀏覽器測試高中", "academic_year": 115,
              "semester": 1, "admin": {"staff_no": "A1", "name": "系統管理者"}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    username = sso_school.username("t", "a1")
    await sso_school.token(username, role="admin")  # identity's sync reached Keycloak

    for phone in (False, True):
        page = await open_page(phone=phone)
        await sign_in(page, username)
        await expect(page.locator("h1")).to_have_text("學習歷程檔案")
        menu = page.get_by_role("navigation", name="功能選單")
        await expect(menu.get_by_role("link", name="人員與班級匯入")).to_be_visible()
        await expect(menu.get_by_role("link", name="我的課程學習成果")).to_have_count(0)
        await screenshot(page, screenshot_dir, "admin-home-phone" if phone else "admin-home")
        violations = await accessibility_violations(page)
        assert violations == [], describe_violations(violations)

        # An access token about to end is refreshed with the refresh token, unnoticed.
        [cookie] = [c for c in await page.context.cookies() if c["name"] == COOKIE]
        store = sso_school.web.state.sessions
        session = await store.get(cookie["value"])
        assert session is not None
        assert session.refresh_token
        before = session.access_token
        session.expires_at = time.time() - 1
        await store.save(session)
        await page.goto(f"{sso_school.portal}/admin/imports")
        await expect(page.locator("h1")).to_have_text("人員與班級匯入")
        refreshed = await store.get(cookie["value"])
        assert refreshed is not None
        assert refreshed.access_token != before
        assert refreshed.expires_at > time.time()

        await page.get_by_role("button", name="登出").click()
        await page.wait_for_url(f"{sso_school.portal}/")
        await page.goto(f"{sso_school.portal}/auth/login")
        # The Keycloak session ended too: its login form asks again.
        await expect(page.locator("#username")).to_be_visible()
