"""The browser-test support: Debian's Chromium, both page sizes, axe-core and screenshots."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from licheng.testing.apps import serving
from licheng.testing.browser import (
    PageOpener,
    accessibility_violations,
    axe_source,
    describe_violations,
    screenshot,
)

PAGE = """<!doctype html>
<html lang="zh-Hant-TW">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body>
<main>
<h1>{title}</h1>
<form>{field}<button type="submit">送出</button></form>
</main>
</body>
</html>
"""

LABELLED = '<label for="name">姓名</label><input id="name" name="name">'
UNLABELLED = '<input name="name">'


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/good", response_class=HTMLResponse)
    async def good() -> str:
        return PAGE.format(title="學習歷程", field=LABELLED)

    @app.get("/bad", response_class=HTMLResponse)
    async def bad() -> HTMLResponse:
        # as strict as the portal: axe must run even where inline scripts are refused
        return HTMLResponse(
            PAGE.format(title="學習歷程", field=UNLABELLED),
            headers={"content-security-policy": "default-src 'self'; script-src 'self'"},
        )

    return app


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[str]:
    async with serving(_app()) as url:
        yield url


def test_axe_is_vendored() -> None:
    assert axe_source().startswith("/*! axe v4.")


@pytest.mark.parametrize(("phone", "width"), [(False, 1280), (True, 375)], ids=["desktop", "phone"])
async def test_pages_open_at_both_sizes_in_taipei(
    site: str, open_page: PageOpener, screenshot_dir: Path, phone: bool, width: int
) -> None:
    page = await open_page(f"{site}/good", phone=phone)

    assert await page.evaluate("window.innerWidth") == width
    assert await page.evaluate("navigator.language") == "zh-TW"
    assert await page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Asia/Taipei"
    assert await page.evaluate("matchMedia('(pointer: coarse)').matches") is phone
    assert await page.inner_text("h1") == "學習歷程"
    shot = await screenshot(page, screenshot_dir, "good")
    assert shot == screenshot_dir / "good.png"
    assert shot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
async def test_a_correct_page_has_no_serious_violation(
    site: str, open_page: PageOpener, phone: bool
) -> None:
    page = await open_page(f"{site}/good", phone=phone)

    violations = await accessibility_violations(page)

    assert violations == [], describe_violations(violations)


async def test_an_unlabelled_input_is_a_serious_violation_despite_a_strict_csp(
    site: str, open_page: PageOpener, screenshot_dir: Path
) -> None:
    page = await open_page(f"{site}/bad")
    await screenshot(page, screenshot_dir, "bad")

    violations = await accessibility_violations(page)
    # axe is injected once per page: a second run reuses it
    again = await accessibility_violations(page, impact=("critical",))

    label = [v for v in violations if v["id"] == "label"]
    assert label, describe_violations(violations)
    assert label[0]["impact"] in ("serious", "critical")
    assert label[0]["nodes"][0]["target"] == ["input"]
    assert "label" in describe_violations(violations)
    assert [v["id"] for v in again] == [v["id"] for v in violations if v["impact"] == "critical"]
