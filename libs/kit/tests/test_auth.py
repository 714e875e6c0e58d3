"""Token verification: real Keycloak tokens accepted, every kind of bad token refused with 401."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from licheng.contracts.permissions import Role
from licheng.kit.auth import CurrentPrincipal, TokenVerifier
from licheng.kit.errors import install_error_handlers
from licheng.kit.tokens import RsaSigner
from licheng.testing.fixtures import TestIssuer
from licheng.testing.infra import TestInfra

ADMIN_PID = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _app(verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = verifier

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, object]:
        return {
            "pid": str(principal.person_id) if principal.person_id else None,
            "roles": {k: sorted(v) for k, v in principal.roles_by_school.items()},
            "service": principal.service,
            "client": principal.client_id,
            "operator": principal.district_operator,
        }

    return app


async def _client(verifier: TokenVerifier) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(verifier)), base_url="http://t")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _unb64(part: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return loaded


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


# --- the real Keycloak -------------------------------------------------------------------


@pytest.fixture
async def keycloak_verifier(infra: TestInfra) -> TokenVerifier:
    return TokenVerifier(
        jwks_url=f"{infra.keycloak_issuer}/protocol/openid-connect/certs",
        issuer=infra.keycloak_issuer,
        audience="licheng",
    )


async def _password_token(http: httpx.AsyncClient, infra: TestInfra, username: str) -> str:
    response = await http.post(
        f"/realms/{infra.keycloak_realm}/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "licheng-test-signin",
            "username": username,
            "password": "test-password",
            "scope": "openid",
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
async def keycloak_admin_token(keycloak_http: httpx.AsyncClient, infra: TestInfra) -> str:
    return await _password_token(keycloak_http, infra, "t-admin")


async def test_keycloak_password_grant_token_is_accepted(
    keycloak_verifier: TokenVerifier, keycloak_admin_token: str
) -> None:
    async with await _client(keycloak_verifier) as client:
        response = await client.get("/whoami", headers=_bearer(keycloak_admin_token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["pid"] == str(ADMIN_PID)
    assert body["roles"] == {"011302": [Role.ADMIN.value]}
    assert body["service"] is False


async def test_keycloak_service_account_is_a_service(
    keycloak_verifier: TokenVerifier, keycloak_http: httpx.AsyncClient, infra: TestInfra
) -> None:
    response = await keycloak_http.post(
        f"/realms/{infra.keycloak_realm}/protocol/openid-connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "licheng-exports",
            "client_secret": "exports-dev-secret",
        },
    )
    assert response.status_code == 200, response.text
    async with await _client(keycloak_verifier) as client:
        whoami = await client.get("/whoami", headers=_bearer(response.json()["access_token"]))
    assert whoami.status_code == 200, whoami.text
    assert whoami.json() == {
        "pid": None,
        "roles": {},
        "service": True,
        "client": "licheng-exports",
        "operator": False,
    }


async def test_keycloak_token_tampered_is_rejected(
    keycloak_verifier: TokenVerifier, keycloak_admin_token: str
) -> None:
    header, payload, signature = keycloak_admin_token.split(".")
    claims = _unb64(payload)
    claims["groups"] = ["/schools/011302/admin", "/schools/999999/admin"]
    tampered = f"{header}.{_b64(claims)}.{signature}"
    async with await _client(keycloak_verifier) as client:
        response = await client.get("/whoami", headers=_bearer(tampered))
    assert response.status_code == 401
    assert response.json()["error"] == "token_invalid"


async def test_alg_none_is_rejected(
    keycloak_verifier: TokenVerifier, keycloak_admin_token: str
) -> None:
    header = _unb64(keycloak_admin_token.split(".")[0])
    payload = keycloak_admin_token.split(".")[1]
    unsigned = f"{_b64({**header, 'alg': 'none'})}.{payload}."
    async with await _client(keycloak_verifier) as client:
        response = await client.get("/whoami", headers=_bearer(unsigned))
    assert response.status_code == 401


async def test_keycloak_token_for_another_audience_or_issuer_is_rejected(
    infra: TestInfra, keycloak_admin_token: str
) -> None:
    jwks = f"{infra.keycloak_issuer}/protocol/openid-connect/certs"
    wrong_audience = TokenVerifier(jwks_url=jwks, issuer=infra.keycloak_issuer, audience="other")
    wrong_issuer = TokenVerifier(
        jwks_url=jwks, issuer=f"{infra.keycloak_url}/realms/elsewhere", audience="licheng"
    )
    for verifier in (wrong_audience, wrong_issuer):
        async with await _client(verifier) as client:
            response = await client.get("/whoami", headers=_bearer(keycloak_admin_token))
        assert response.status_code == 401


# --- tokens of our own issuer: expiry, issuer, audience, keys ------------------------------


@pytest.fixture
async def issuer_client(issuer: TestIssuer) -> AsyncIterator[httpx.AsyncClient]:
    verifier = TokenVerifier(
        jwks_url=issuer.jwks_url, issuer=issuer.issuer, audience=issuer.audience
    )
    async with await _client(verifier) as client:
        yield client


async def test_valid_token_reads_groups_into_roles(
    issuer_client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    groups = [
        "/schools/011302/course_teacher",
        "/schools/011302/homeroom_teacher",
        "/schools/013338/admin",
        "/schools/013338/not-a-role",
        "/other/group",
    ]
    response = await issuer_client.get("/whoami", headers=issuer.headers(groups=groups))
    assert response.status_code == 200
    assert response.json()["roles"] == {
        "011302": ["course_teacher", "homeroom_teacher"],
        "013338": ["admin"],
    }


async def test_expired_token_is_rejected(
    issuer_client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    now = int(time.time())
    token = issuer.token(iat=now - 600, exp=now - 60)
    response = await issuer_client.get("/whoami", headers=_bearer(token))
    assert response.status_code == 401
    assert response.json()["error"] == "token_expired"
    assert "逾時" in response.json()["message"]


async def test_wrong_issuer_and_audience_are_rejected(
    issuer_client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    for claims in ({"iss": "https://evil.example/realms/licheng"}, {"aud": ["someone-else"]}):
        response = await issuer_client.get("/whoami", headers=_bearer(issuer.token(**claims)))
        assert response.status_code == 401, claims


async def test_token_signed_by_an_unknown_key_is_rejected(
    issuer_client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    stranger = RsaSigner(kid=issuer.signer.kid)  # same kid, different key
    token = stranger.mint({"iss": issuer.issuer, "aud": "licheng", "sub": "x"})
    response = await issuer_client.get("/whoami", headers=_bearer(token))
    assert response.status_code == 401


async def test_missing_claims_and_garbage_are_rejected(
    issuer_client: httpx.AsyncClient, issuer: TestIssuer
) -> None:
    no_sub = issuer.signer.mint({"iss": issuer.issuer, "aud": "licheng"})
    for token in (no_sub, "not-a-jwt", "a.b.c"):
        response = await issuer_client.get("/whoami", headers=_bearer(token))
        assert response.status_code == 401
    basic = await issuer_client.get("/whoami", headers={"authorization": "Basic eDp5"})
    assert basic.status_code == 401


async def test_rotated_key_is_fetched_on_unknown_kid(issuer: TestIssuer) -> None:
    verifier = TokenVerifier(
        jwks_url=issuer.jwks_url,
        issuer=issuer.issuer,
        audience=issuer.audience,
        min_refetch_seconds=0.0,
    )
    async with await _client(verifier) as client:
        first = await client.get("/whoami", headers=issuer.headers())
        assert first.status_code == 200
        old_signer = issuer.signer
        issuer.signer = RsaSigner()  # the issuer rotates its key and publishes the new JWKS
        issuer._server.document = issuer.signer.jwks()
        try:
            rotated = await client.get("/whoami", headers=issuer.headers())
            assert rotated.status_code == 200, rotated.text
        finally:
            issuer.signer = old_signer
            issuer._server.document = old_signer.jwks()


async def test_unreachable_jwks_is_a_503_to_try_again_not_a_401_or_a_crash() -> None:
    from licheng.testing.servers import free_port

    verifier = TokenVerifier(
        jwks_url=f"http://127.0.0.1:{free_port()}/jwks", issuer="x", audience="licheng"
    )
    token = RsaSigner().mint({"iss": "x", "aud": "licheng", "sub": "s"})
    async with await _client(verifier) as client:
        for _ in range(2):
            response = await client.get("/whoami", headers=_bearer(token))
            # The token may be perfectly good: the client is told to come back, not to sign in.
            assert response.status_code == 503
            assert response.json()["error"] == "jwks_unavailable"
            assert response.headers["retry-after"]


async def test_a_jwks_connection_lost_once_is_tried_again_and_the_token_accepted() -> None:
    signer = RsaSigner()
    body = json.dumps(signer.jwks()).encode()
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if connections > 1:  # the first connection is dropped without an answer
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        verifier = TokenVerifier(
            jwks_url=f"http://127.0.0.1:{port}/jwks", issuer="x", audience="licheng"
        )
        token = signer.mint({"iss": "x", "aud": "licheng", "sub": "s"})
        async with await _client(verifier) as client:
            response = await client.get("/whoami", headers=_bearer(token))
    assert response.status_code == 200, response.text
    assert connections == 2
