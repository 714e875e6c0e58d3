"""The portal's sessions through the gateway: sign-in required, the menu follows the permission
matrix, every form is CSRF-checked, sign-out ends the session, and `next` never leaves the site."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


async def test_pages_need_a_session_and_return_after_sign_in(campus: Any) -> None:
    async with httpx.AsyncClient(base_url=str(campus.gateway.base_url)) as anonymous:
        home = await anonymous.get("/")
        assert home.status_code == 200
        assert 'href="/auth/login"' in home.text
        page = await anonymous.get("/student/outcomes?academic_year=115")
        assert page.status_code == 303
        assert (
            page.headers["location"]
            == "/auth/login?next=%2Fstudent%2Foutcomes%3Facademic_year%3D115"
        )
        htmx = await anonymous.get("/student/outcomes", headers={"hx-request": "true"})
        assert (htmx.status_code, htmx.headers["hx-redirect"]) == (
            204,
            "/auth/login?next=%2Fstudent%2Foutcomes",
        )
        form = await anonymous.get("/auth/login", params={"next": "//evil.example/x"})
        assert form.status_code == 200
        assert 'name="next" value="/"' in form.text
        assert 'autocomplete="username"' in form.text
        assert "httponly" in form.headers["set-cookie"].lower()


async def test_the_menu_shows_only_what_the_matrix_allows(campus: Any) -> None:
    student = str(uuid.uuid4())
    async with campus.portal(student, "student") as page:
        home = await page.get("/")
        assert home.status_code == 200
        assert "我的課程學習成果" in home.text
        assert "人員與班級匯入" not in home.text
        assert "待認證成果" not in home.text
        assert "學生" in home.text
    async with campus.portal(str(uuid.uuid4()), "admin", "homeroom_teacher") as page:
        home = (await page.get("/")).text
        assert "人員與班級匯入" in home
        assert "班級課程學習成果" in home
        assert "我的課程學習成果" not in home


async def test_forms_need_the_csrf_token_and_sign_out_ends_the_session(campus: Any) -> None:
    async with campus.portal(str(uuid.uuid4()), "student") as page:
        forged = await page.post("/auth/logout", headers={"x-csrf-token": "forged"})
        assert forged.status_code == 403
        assert "表單已逾時或來源不明" in forged.text
        assert (await page.get("/")).text.count("登出") == 1  # still signed in
        old = page.cookies["licheng_session"]
        out = await page.post("/auth/logout")
        assert out.status_code == 303
        assert out.headers["location"] == "/"
        # The old cookie, sent again (e.g. by a copied browser profile), opens nothing.
        page.cookies.set("licheng_session", old)
        again = await page.get("/student/outcomes")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/auth/login")


async def test_a_person_of_two_schools_picks_one_first(campus: Any) -> None:
    async with campus.portal(str(uuid.uuid4()), "student", other_school="999999") as page:
        first = await page.get("/student/outcomes")
        assert first.status_code == 303
        assert first.headers["location"] == "/auth/school?next=/student/outcomes"
        chooser = await page.get("/auth/school", params={"next": "/student/outcomes"})
        assert campus.school in chooser.text
        assert "999999" in chooser.text
        refused = await page.post("/auth/school", data={"school_code": "123456", "next": "/"})
        assert refused.status_code == 400
        assert "您在此學校沒有任何角色" in refused.text
        chosen = await page.post(
            "/auth/school", data={"school_code": campus.school, "next": "//evil.example/"}
        )
        assert (chosen.status_code, chosen.headers["location"]) == (303, "/")
        home = await page.get("/")
        assert f"學校 {campus.school}" in home.text
        assert "切換學校" in home.text
