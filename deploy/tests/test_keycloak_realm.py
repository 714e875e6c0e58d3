"""The realm a district imports is hardened; test users and the password grant exist only in
the development overlay the test infrastructure adds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from licheng.testing.infra import REPO_ROOT, TestInfra

REALM = REPO_ROOT / "deploy" / "keycloak" / "licheng-realm.json"
OVERLAY = REPO_ROOT / "deploy" / "keycloak" / "development-overlay.json"


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_the_production_realm_is_hardened() -> None:
    realm = _load(REALM)
    assert realm["bruteForceProtected"] is True
    assert realm["sslRequired"] == "external"
    assert realm["registrationAllowed"] is False
    portal = next(c for c in realm["clients"] if c["clientId"] == "licheng-portal")
    assert portal["directAccessGrantsEnabled"] is False
    assert portal["publicClient"] is True
    people = [u for u in realm["users"] if not u["username"].startswith("service-account-")]
    assert people == []
    assert not any(u.get("credentials") for u in realm["users"])


def test_the_overlay_adds_users_and_a_test_client_only_when_composed() -> None:
    composed = json.loads(
        subprocess.run(
            [sys.executable, str(REALM.parent / "compose_realm.py"), str(REALM), str(OVERLAY)],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    )
    clients = {c["clientId"]: c for c in composed["clients"]}
    tests = clients["licheng-test-signin"]
    assert tests["directAccessGrantsEnabled"] is True
    assert tests["defaultClientScopes"] == clients["licheng-portal"]["defaultClientScopes"]
    assert clients["licheng-portal"]["directAccessGrantsEnabled"] is False
    assert {u["username"] for u in composed["users"]} >= {"t-admin", "t-operator"}


async def test_the_portal_client_refuses_the_password_grant(
    keycloak_http: httpx.AsyncClient, infra: TestInfra
) -> None:
    token_url = f"/realms/{infra.keycloak_realm}/protocol/openid-connect/token"
    form = {"grant_type": "password", "username": "t-admin", "password": "test-password"}
    refused = await keycloak_http.post(token_url, data={**form, "client_id": "licheng-portal"})
    assert refused.status_code in (400, 401)
    assert refused.json()["error"] == "unauthorized_client"
    allowed = await keycloak_http.post(token_url, data={**form, "client_id": "licheng-test-signin"})
    assert allowed.status_code == 200, allowed.text
    realm = (await keycloak_http.get(f"/realms/{infra.keycloak_realm}")).json()
    assert realm["realm"] == infra.keycloak_realm
