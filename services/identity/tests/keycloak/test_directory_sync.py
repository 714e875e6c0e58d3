"""The Keycloak sync rides the outbox: while Keycloak is unreachable nothing is lost, and it
catches up when Keycloak returns."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from prometheus_client import REGISTRY

from licheng.identity.app import create_app
from licheng.identity.directory_sync import DURABLE
from licheng.testing.apps import running
from licheng.testing.fixtures import TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.servers import TcpProxy

PASSWORD = "Sync-initial-Password-1"


async def _groups_after_sign_in(infra: TestInfra, username: str) -> set[str] | None:
    async with httpx.AsyncClient(base_url=infra.keycloak_url, timeout=10) as keycloak:
        response = await keycloak.post(
            f"/realms/{infra.keycloak_realm}/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "licheng-test-signin",
                  "username": username, "password": PASSWORD},
        )  # fmt: skip
    if response.status_code != 200:
        return None
    import jwt

    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    return set(claims.get("groups", []))


async def _wait_for_groups(infra: TestInfra, username: str, expected: set[str]) -> None:
    deadline = time.monotonic() + 40
    while (await _groups_after_sign_in(infra, username)) != expected:
        assert time.monotonic() < deadline, f"{username} never reached {expected}"
        await asyncio.sleep(0.3)


def _retries() -> float:
    value = REGISTRY.get_sample_value(
        "licheng_events_handled_total", {"consumer": DURABLE, "outcome": "retried"}
    )
    return value or 0.0


async def test_sync_catches_up_after_keycloak_returns(
    identity_settings: Any, issuer: TestIssuer, infra: TestInfra, nats_client: object, files: Any
) -> None:
    keycloak = urlsplit(infra.keycloak_url)
    proxy = TcpProxy(keycloak.hostname or "127.0.0.1", keycloak.port or 80)
    await proxy.start()
    settings = identity_settings(
        keycloak_url=f"http://127.0.0.1:{proxy.port}", keycloak_initial_password=PASSWORD
    )
    school = f"8{random.randrange(10**5):05d}"
    operator = issuer.headers(groups=["/district/operators"])
    admin = issuer.headers(groups=[f"/schools/{school}/admin"])
    try:
        async with running(create_app(settings)) as client:
            created = await client.post(
                "/api/identity/v1/schools",
                json={"code": school, "name": "同步測試高中", "academic_year": 115,
                      "semester": 1, "admin": {"staff_no": "A1", "name": "管理者"}},
                headers=operator,
            )  # fmt: skip
            assert created.status_code == 201
            await _wait_for_groups(infra, f"{school}-t-a1", {f"/schools/{school}/admin"})

            await proxy.cut()  # Keycloak goes away
            retries_before = _retries()
            staff = files.csv(["教師編號", "姓名", "email"], [["T9", "周老師", ""]])
            url = f"/api/identity/v1/schools/{school}/imports/staff"
            imported = await client.post(url, files={"file": ("s.csv", staff)}, headers=admin)
            assert imported.status_code == 200  # identity does not wait for Keycloak
            listed = await client.get(f"/api/identity/v1/schools/{school}/staff", headers=admin)
            teacher = next(p for p in listed.json()["items"] if p["local_no"] == "T9")
            grant = f"/api/identity/v1/schools/{school}/staff/{teacher['id']}/roles/counselor"
            assert (await client.put(grant, headers=admin)).status_code == 201

            deadline = time.monotonic() + 15
            while _retries() <= retries_before:
                assert time.monotonic() < deadline, "the sync never tried while Keycloak was away"
                await asyncio.sleep(0.2)
            assert await _groups_after_sign_in(infra, f"{school}-t-t9") is None

            await proxy.start()  # Keycloak is back
            await _wait_for_groups(infra, f"{school}-t-t9", {f"/schools/{school}/counselor"})
    finally:
        await proxy.cut()
