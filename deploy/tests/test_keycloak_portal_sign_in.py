"""The portal signs in through Keycloak's real login page from any loopback port: the realm
registers `http://127.0.0.1/*` and `http://localhost/*` without a port, and Keycloak then
accepts every port on them (RFC 8252 §7.3), for sign-in and for the return after sign-out."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from licheng.testing.apps import serving
from licheng.testing.browser import PageOpener, screenshot
from licheng.testing.infra import TestInfra

CLIENT_ID = "licheng-portal"


def _oidc(infra: TestInfra, endpoint: str) -> str:
    return f"{infra.keycloak_issuer}/protocol/openid-connect/{endpoint}"


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture(scope="module")
async def portal() -> AsyncIterator[str]:
    """A stand-in for the portal's callback on a random loopback port."""
    app = FastAPI()

    @app.get("/auth/callback", response_class=HTMLResponse)
    async def callback() -> str:
        return '<!doctype html><html lang="zh-Hant"><title>callback</title><main>ok</main></html>'

    async with serving(app) as url:
        yield url


@pytest.mark.parametrize(
    ("redirect", "accepted"),
    [
        ("http://127.0.0.1:8000/auth/callback", True),
        ("http://localhost:18601/auth/callback", True),
        ("http://127.0.0.1:43127/auth/callback", True),
        ("http://portal.example.com:8000/auth/callback", False),
    ],
)
async def test_the_portal_client_accepts_loopback_redirects_on_any_port(
    keycloak_http: httpx.AsyncClient, infra: TestInfra, redirect: str, accepted: bool
) -> None:
    _, challenge = _pkce()
    query = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": redirect,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s",
    }
    login = await keycloak_http.get(_oidc(infra, "auth"), params=query)
    signed_out = {"client_id": CLIENT_ID, "post_logout_redirect_uri": redirect}
    logout = await keycloak_http.get(_oidc(infra, "logout"), params=signed_out)

    assert (login.status_code == 200) is accepted, login.text[:300]
    assert (logout.status_code == 302) is accepted, logout.text[:300]


async def test_a_test_user_signs_in_through_the_login_page(
    portal: str,
    open_page: PageOpener,
    screenshot_dir: Path,
    keycloak_http: httpx.AsyncClient,
    infra: TestInfra,
) -> None:
    verifier, challenge = _pkce()
    redirect = f"{portal}/auth/callback"
    query = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": redirect,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "state-1",
    }
    page = await open_page(f"{_oidc(infra, 'auth')}?{urlencode(query)}", phone=True)
    await screenshot(page, screenshot_dir, "login")
    await page.fill("#username", "t-admin")
    await page.fill("#password", "test-password")
    await page.click("#kc-login")
    await page.wait_for_url(f"{redirect}?**")

    returned = parse_qs(urlsplit(page.url).query)
    assert returned["state"] == ["state-1"]
    tokens = await keycloak_http.post(
        _oidc(infra, "token"),
        data={
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "code": returned["code"][0],
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.text
    claims = _claims(tokens.json()["access_token"])
    assert claims["preferred_username"] == "t-admin"
    assert claims["groups"] == ["/schools/011302/admin"]
    assert claims["pid"] == "00000000-0000-4000-8000-000000000001"

    signed_out = await keycloak_http.get(
        _oidc(infra, "logout"),
        params={"id_token_hint": tokens.json()["id_token"], "post_logout_redirect_uri": portal},
    )
    assert signed_out.status_code == 302
    assert signed_out.headers["location"] == portal
