"""Browser tests: Debian's Chromium driven by Playwright, accessibility checks and screenshots.

The browser is always the machine's own (`LICHENG_CHROMIUM`, default `/usr/bin/chromium`,
installed by `./licheng test`); Playwright never downloads one. Pages open in a context of
their own, in zh-TW and Taipei time, at a desktop (1280×800) or phone (375×812, touch) size.
`accessibility_violations` runs the vendored axe-core (`vendor/axe.min.js`) in the page, whatever
its Content Security Policy.

The pytest fixtures (`browser`, `open_page`, `screenshot_dir`) are in `licheng.testing.fixtures`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from playwright.async_api import Browser, Page, ViewportSize, async_playwright

CHROMIUM_ENV = "LICHENG_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=375, height=812)
LOCALE = "zh-TW"
TIMEZONE = "Asia/Taipei"
SERIOUS = ("serious", "critical")


class PageOpener(Protocol):
    """The `open_page` fixture: `await open_page(url, phone=True)`."""

    async def __call__(self, url: str | None = None, *, phone: bool = False) -> Page: ...


def chromium_path() -> str:
    """The Chromium binary the tests launch."""
    return os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM


@asynccontextmanager
async def chromium_browser(*, headless: bool = True) -> AsyncIterator[Browser]:
    """Launch the machine's Chromium (headless, no sandbox: the tests run as root) and close it
    on the way out."""
    executable = chromium_path()
    if not os.access(executable, os.X_OK):
        raise RuntimeError(
            f"no Chromium at {executable}: `./licheng test` installs Debian's chromium "
            f"(apt-get install chromium), or point {CHROMIUM_ENV} at one"
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=headless, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser, *, phone: bool = False) -> Page:
    """A page in a fresh context (no cookies shared with other pages) at a desktop or phone
    size; close it with `await page.context.close()`."""
    context = await browser.new_context(
        viewport=PHONE if phone else DESKTOP,
        is_mobile=phone,
        has_touch=phone,
        locale=LOCALE,
        timezone_id=TIMEZONE,
    )
    return await context.new_page()


@cache
def axe_source() -> str:
    """The vendored axe-core script (see `vendor/README.md` for its version)."""
    return (resources.files("licheng.testing") / "vendor" / "axe.min.js").read_text("utf-8")


async def accessibility_violations(
    page: Page, *, impact: Iterable[str] = SERIOUS
) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; the violations of the given impacts, each as axe
    reports it (`id`, `impact`, `help`, `helpUrl`, `nodes` with their `target` selectors)."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through DevTools rather than `add_script_tag`: the portal's Content Security
        # Policy refuses inline scripts, and a <script> element would itself be in the audit.
        await page.evaluate("source => { (0, eval)(source); }", axe_source())
    violations: list[dict[str, Any]] = await page.evaluate(
        "async () => (await window.axe.run(document, {resultTypes: ['violations']})).violations"
    )
    wanted = set(impact)
    return [v for v in violations if v.get("impact") in wanted]


def describe_violations(violations: Iterable[dict[str, Any]]) -> str:
    """One line per violation and element, for an assertion message."""
    lines = []
    for violation in violations:
        for node in violation.get("nodes", []):
            lines.append(
                f"{violation.get('impact')} {violation.get('id')}: {violation.get('help')} "
                f"at {node.get('target')}"
            )
    return "\n".join(lines)


async def screenshot(page: Page, directory: Path, name: str) -> Path:
    """Save a full-page PNG of the page as `<directory>/<name>.png` (folders created)."""
    path = directory / f"{name}.png"
    await page.screenshot(path=path, full_page=True)
    return path
