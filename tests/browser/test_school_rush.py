"""A whole school behind one NAT address: 300 students sign in to the portal through Keycloak,
all from 127.0.0.1, and every one of them gets in: the gateway answers none of them 429."""

from __future__ import annotations

import asyncio
import html
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from licheng.testing.infra import TestInfra

STUDENTS = 300
PASSWORD = "Rush-Password-1"
FORM_ACTION = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"')


@pytest.fixture
async def keycloak_students(infra: TestInfra) -> AsyncIterator[list[str]]:
    """STUDENTS users in the test realm, removed afterwards."""
    prefix = f"rush-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=infra.keycloak_url, timeout=30) as keycloak:
        signed_in_at = 0.0
        refreshing = asyncio.Lock()

        async def as_admin(*, unless_fresh: bool = False) -> None:
            # The master realm's tokens last a minute, and creating 300 users with their
            # password hashes takes longer than that on a loaded machine: a token older than
            # 30 s is replaced before the next call.
            nonlocal signed_in_at
            async with refreshing:
                if unless_fresh and time.monotonic() - signed_in_at < 30:
                    return
                token = await keycloak.post(
                    "/realms/master/protocol/openid-connect/token",
                    data={"grant_type": "password", "client_id": "admin-cli",
                          "username": "admin", "password": "admin"},
                )  # fmt: skip
                assert token.status_code == 200, token.text
                keycloak.headers["authorization"] = f"Bearer {token.json()['access_token']}"
                signed_in_at = time.monotonic()

        await as_admin()
        users = f"/admin/realms/{infra.keycloak_realm}/users"
        names = [f"{prefix}-{n:03d}" for n in range(STUDENTS)]
        gate = asyncio.Semaphore(8)

        async def create(name: str) -> None:
            async with gate:
                await as_admin(unless_fresh=True)
                made = await keycloak.post(users, json={
                    "username": name, "enabled": True, "emailVerified": True,
                    "firstName": "學生", "lastName": name, "email": f"{name}@licheng.test",
                    "credentials": [{"type": "password", "value": PASSWORD,
                                     "temporary": False}],
                })  # fmt: skip
                assert made.status_code == 201, made.text

        await asyncio.gather(*(create(name) for name in names))
        try:
            yield names
        finally:
            await as_admin()
            listed = await keycloak.get(users, params={"search": prefix, "max": STUDENTS + 10})
            for user in listed.json():
                await as_admin(unless_fresh=True)
                await keycloak.delete(f"{users}/{user['id']}")


async def sign_in(portal: str, username: str) -> list[int]:
    """One student's sign-in, as a browser does it; the gateway's statuses along the way."""
    statuses: list[int] = []
    async with httpx.AsyncClient(timeout=30) as browser:
        start = await browser.get(f"{portal}/auth/login", params={"next": "/"})
        statuses.append(start.status_code)
        login = await browser.get(start.headers["location"])
        action = FORM_ACTION.search(login.text)
        assert action is not None, login.text[:500]
        # Keycloak marks its cookies Secure; a browser sends them to 127.0.0.1 over http
        # (a trustworthy origin) but httpx does not, so they are passed on by hand.
        keycloak = "; ".join(f"{c.name}={c.value}" for c in browser.cookies.jar)
        back = await browser.post(
            html.unescape(action.group(1)),
            data={"username": username, "password": PASSWORD},
            headers={"cookie": keycloak},
        )
        assert back.status_code == 302, back.text[:500]
        callback = await browser.get(back.headers["location"])
        statuses.append(callback.status_code)
        home = await browser.get(f"{portal}/")
        statuses.append(home.status_code)
        assert "登出" in home.text
    return statuses


@pytest.mark.postgresql_only(reason="sign-ins touch no service database: one engine is enough")
async def test_300_students_from_one_address_all_sign_in(
    sso_school: Any, keycloak_students: list[str]
) -> None:
    gate = asyncio.Semaphore(8)  # a class at a time, as a school's rush arrives

    async def student(name: str) -> list[int]:
        async with gate:
            return await sign_in(sso_school.portal, name)

    answers = await asyncio.gather(*(student(name) for name in keycloak_students))
    statuses = [status for answer in answers for status in answer]
    assert 429 not in statuses
    assert set(statuses) <= {200, 303}, Counter(statuses)
    assert statuses.count(303) == 2 * STUDENTS  # /auth/login and /auth/callback
    assert statuses.count(200) == STUDENTS  # the signed-in home page


@pytest.mark.postgresql_only(reason="sign-ins touch no service database: one engine is enough")
async def test_a_code_keycloak_refuses_gets_a_page_asking_to_sign_in_again(
    sso_school: Any,
) -> None:
    async with httpx.AsyncClient(timeout=30) as browser:
        start = await browser.get(f"{sso_school.portal}/auth/login", params={"next": "/"})
        assert start.status_code == 303
        state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
        # An expired or already used code: Keycloak answers invalid_grant.
        back = await browser.get(
            f"{sso_school.portal}/auth/callback", params={"code": "not-a-code", "state": state}
        )
    assert back.status_code == 400
    assert "請重新登入" in back.text
