"""Keycloak down: people already signed in keep working, a new sign-in gets a clear page, and
the directory sync catches up when Keycloak returns.

The shared Keycloak is never stopped (other tests use it): identity, the gateway and the portal
reach it through a cuttable TCP proxy on loopback — keys (JWKS), the portal's discovery and
code exchange, identity's admin API for the directory sync. Tokens keep Keycloak's own issuer
(its hostname is fixed), so `iss` is checked as usual while the keys come through the proxy.
The browser's side (Keycloak's login form) talks to Keycloak directly, as a browser would
through the district's ingress.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
from prometheus_client import REGISTRY

from licheng.gateway.app import create_app as create_gateway
from licheng.gateway.settings import Settings as GatewaySettings
from licheng.identity.app import create_app as create_identity
from licheng.identity.cli import MIGRATIONS_DIR as IDENTITY_MIGRATIONS
from licheng.identity.directory_sync import DURABLE as DIRECTORY_SYNC
from licheng.identity.settings import Settings as IdentitySettings
from licheng.testing.apps import service_settings, serving
from licheng.testing.fixtures import MigratedDatabaseFactory
from licheng.testing.infra import TestInfra
from licheng.testing.servers import TcpProxy, free_port
from licheng.web.app import create_app as create_web
from licheng.web.settings import Settings as WebSettings

pytestmark = pytest.mark.postgresql_only(
    reason="the fault is Keycloak's; identity's database engine plays no part in it"
)

PASSWORD = "Outage-initial-Password-1"
FORM_ACTION = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"')
SIGN_IN_BOUND_SECONDS = 10.0  # a sign-in during the outage answers within this, never hangs


@dataclass
class Campus:
    """Identity behind the gateway and the portal, all reaching Keycloak through `proxy`."""

    portal: str
    school: str
    proxy: TcpProxy
    infra: TestInfra


@pytest.fixture
async def campus(
    infra: TestInfra, migrated_database: MigratedDatabaseFactory, nats_client: object
) -> AsyncIterator[Campus]:
    keycloak = urlsplit(infra.keycloak_url)
    proxy = TcpProxy(keycloak.hostname or "127.0.0.1", keycloak.port or 80)
    await proxy.start()
    through = f"http://127.0.0.1:{proxy.port}{urlsplit(infra.keycloak_issuer).path}"
    keys = {"jwks_url": f"{through}/protocol/openid-connect/certs"}
    identity = create_identity(
        service_settings(
            IdentitySettings,
            infra=infra,
            database_url=await migrated_database(IDENTITY_MIGRATIONS, "outage_identity"),
            keycloak_url=f"http://127.0.0.1:{proxy.port}",
            keycloak_realm=infra.keycloak_realm,
            keycloak_initial_password=PASSWORD,
            dev_issuer_enabled=False,
            issuer=infra.keycloak_issuer,
            **keys,
        )
    )
    gateway_port, web_port = free_port(), free_port()
    portal = f"http://127.0.0.1:{gateway_port}"
    web = create_web(
        WebSettings(
            environment="test",
            gateway_url=portal,
            public_url=portal,
            oidc_issuer=through,
            oidc_recheck_seconds=0,  # every sign-in checks Keycloak first
            jwt_issuer=infra.keycloak_issuer,
            nats_url=infra.nats_url,
            **keys,
        )
    )
    try:
        async with serving(identity) as identity_url:
            gateway = create_gateway(
                GatewaySettings(
                    environment="test",
                    jwt_issuer=infra.keycloak_issuer,
                    portal_url=f"http://127.0.0.1:{web_port}",
                    upstreams={"identity": identity_url},
                    upstream_connect_timeout_seconds=15.0,
                    **keys,
                )
            )
            async with serving(web, web_port), serving(gateway, gateway_port):
                yield Campus(portal, f"7{time.time_ns() % 10**5:05d}", proxy, infra)
    finally:
        await proxy.cut()


def _sync_retries() -> float:
    """How often identity's directory sync has failed and will retry (this process)."""
    value = REGISTRY.get_sample_value(
        "licheng_events_handled_total", {"consumer": DIRECTORY_SYNC, "outcome": "retried"}
    )
    return value or 0.0


async def _direct_grant(infra: TestInfra, username: str, password: str) -> str | None:
    """An access token from Keycloak itself (the tests' direct-grant client), or None."""
    async with httpx.AsyncClient(timeout=10) as keycloak:
        answer = await keycloak.post(
            f"{infra.keycloak_issuer}/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "licheng-test-signin",
                  "username": username, "password": password},
        )  # fmt: skip
    return str(answer.json()["access_token"]) if answer.status_code == 200 else None


async def _synced_token(infra: TestInfra, username: str, group: str | None) -> dict[str, str]:
    """Headers of `username` once identity's directory sync created them in Keycloak (and gave
    them `group`, when given); 40 s at most."""
    deadline = time.monotonic() + 40
    while True:
        token = await _direct_grant(infra, username, PASSWORD)
        claims = jwt.decode(token, options={"verify_signature": False}) if token else {}
        if token and (group is None or group in claims.get("groups", [])):
            return {"authorization": f"Bearer {token}"}
        assert time.monotonic() < deadline, f"{username} never reached {group}"
        await asyncio.sleep(0.3)


async def _sign_in_on_portal(browser: httpx.AsyncClient, portal: str, username: str) -> None:
    """The portal's Keycloak sign-in, as a browser does it (Keycloak's form filled in)."""
    start = await browser.get(f"{portal}/auth/login", params={"next": "/announcements"})
    assert start.status_code == 303, start.text[:300]
    login = await browser.get(start.headers["location"])
    action = FORM_ACTION.search(login.text)
    assert action is not None, login.text[:500]
    cookies = "; ".join(f"{c.name}={c.value}" for c in browser.cookies.jar)  # Secure cookies
    back = await browser.post(html.unescape(action.group(1)), headers={"cookie": cookies},
                              data={"username": username, "password": PASSWORD})  # fmt: skip
    assert back.status_code == 302, back.text[:500]
    done = await browser.get(back.headers["location"])
    assert done.status_code == 303, done.text[:500]


async def test_keycloak_down_keeps_signed_in_people_working_and_the_sync_catches_up(
    campus: Campus, record_property: Callable[[str, object], None]
) -> None:
    infra, school, portal = campus.infra, campus.school, campus.portal
    async with httpx.AsyncClient(base_url=portal, timeout=30) as api:
        operator = await _direct_grant(infra, "t-operator", "test-password")
        created = await api.post(
            "/api/identity/v1/schools",
            headers={"authorization": f"Bearer {operator}"},
            json={"code": school, "name": "斷線測試高中", "academic_year": 115, "semester": 1,
                  "admin": {"staff_no": "A1", "name": "系統管理者"}},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        admin = await _synced_token(infra, f"{school}-t-a1", f"/schools/{school}/admin")
        base = f"/api/identity/v1/schools/{school}"
        assert (await api.get(f"{base}/staff", headers=admin)).status_code == 200
        async with httpx.AsyncClient(timeout=30) as browser:
            await _sign_in_on_portal(browser, portal, f"{school}-t-a1")
            assert (await browser.get(f"{portal}/announcements")).status_code == 200

            await campus.proxy.cut()  # Keycloak is gone for identity, the gateway, the portal
            down_at = time.monotonic()

            # Tokens already issued keep working: every service checks them with the keys
            # it keeps (JWKS cached), so API calls and the signed-in portal go on.
            assert (await api.get(f"{base}/staff", headers=admin)).status_code == 200
            page = await browser.get(f"{portal}/announcements")
            assert page.status_code == 200
            assert "登出" in page.text

            # A new sign-in gets the portal's own page at once: no 500, no hang.
            started = time.monotonic()
            async with httpx.AsyncClient(timeout=SIGN_IN_BOUND_SECONDS) as newcomer:
                refused = await newcomer.get(f"{portal}/auth/login", params={"next": "/"})
            sign_in_seconds = time.monotonic() - started
            assert refused.status_code == 503
            assert "登入服務暫時無法連線" in refused.text
            assert "已登入的使用者不受影響" in refused.text
            assert "重新登入" in refused.text  # a way to try again

            # The directory sync during the outage: the import succeeds (the sync rides the
            # outbox), the sync fails and will retry, the new teacher cannot sign in yet.
            retries_before = _sync_retries()
            staff = "教師編號,姓名,email\nT9,周老師,\n".encode()
            imported = await api.post(f"{base}/imports/staff", headers=admin,
                                      files={"file": ("staff.csv", staff)})  # fmt: skip
            assert imported.status_code == 200, imported.text
            deadline = time.monotonic() + 15
            while _sync_retries() <= retries_before:
                assert time.monotonic() < deadline, "the sync never tried while Keycloak was away"
                await asyncio.sleep(0.2)
            assert await _direct_grant(infra, f"{school}-t-t9", PASSWORD) is None

            await campus.proxy.start()  # Keycloak is back
            outage_seconds = time.monotonic() - down_at
            back_at = time.monotonic()
            await _synced_token(infra, f"{school}-t-t9", None)  # the new teacher signs in
            caught_up_seconds = time.monotonic() - back_at
            again = await api.get("/auth/login")
            assert again.status_code == 303  # signing in works again

    line = (
        f"FAULT keycloak_down outage_s={outage_seconds:.1f} sign_in_answer_s={sign_in_seconds:.2f}"
        f" sync_caught_up_s={caught_up_seconds:.1f}"
    )
    print(line)
    record_property("fault_keycloak_down", line)
