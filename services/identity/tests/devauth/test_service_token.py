"""The development issuer's client-credentials tokens: service accounts as Keycloak signs them."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from pydantic import SecretStr

from licheng.identity.app import create_app
from licheng.kit.auth import TokenVerifier, principal_from_claims
from licheng.kit.service_tokens import ClientCredentials, ServiceTokenError
from licheng.testing.apps import running, serving

SERVICE_TOKEN = "/api/identity/v1/dev-auth/service-token"
EXPORTS = {
    "grant_type": "client_credentials",
    "client_id": "licheng-exports",
    "client_secret": "licheng-dev-service-secret",
}


async def test_a_known_client_gets_a_service_account_token(api: Any) -> None:
    answer = await api.client.post(SERVICE_TOKEN, data=EXPORTS)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    jwks = (await api.client.get("/api/identity/v1/dev-auth/jwks")).json()
    settings = api.app.state.settings
    claims = jwt.decode(
        body["access_token"],
        key=jwt.PyJWK(jwks["keys"][0]).key,
        algorithms=["RS256"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    assert claims["azp"] == "licheng-exports"
    assert claims["roles"] == ["service"]
    assert claims["exp"] - claims["iat"] == 300
    assert "groups" not in claims
    assert "pid" not in claims
    principal = principal_from_claims(claims)
    assert (principal.service, principal.client_id, principal.person_id) == (
        True,
        "licheng-exports",
        None,
    )


async def test_wrong_secrets_unknown_clients_and_other_grants_are_refused(api: Any) -> None:
    wrong = await api.client.post(SERVICE_TOKEN, data={**EXPORTS, "client_secret": "guess"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.json()["message"] == "系統服務帳號或密鑰錯誤"
    assert "guess" not in wrong.text
    unknown = await api.client.post(SERVICE_TOKEN, data={**EXPORTS, "client_id": "licheng-web"})
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "invalid_client"
    password = await api.client.post(SERVICE_TOKEN, data={**EXPORTS, "grant_type": "password"})
    assert password.status_code == 400
    assert password.json()["error"] == "unsupported_grant_type"
    incomplete = await api.client.post(SERVICE_TOKEN, data={"grant_type": "client_credentials"})
    assert incomplete.status_code == 422


async def test_the_clients_and_secrets_come_from_settings(identity_settings: Any) -> None:
    app = create_app(
        identity_settings(dev_service_clients={"licheng-reports": SecretStr("reports-secret")})
    )
    async with running(app) as client:
        exports = await client.post(SERVICE_TOKEN, data=EXPORTS)
        reports = await client.post(
            SERVICE_TOKEN,
            data={**EXPORTS, "client_id": "licheng-reports", "client_secret": "reports-secret"},
        )
    assert exports.status_code == 401
    assert reports.status_code == 200


async def test_no_service_tokens_where_development_sign_in_is_off(identity_settings: Any) -> None:
    async with running(create_app(identity_settings(dev_issuer_enabled=False))) as client:
        assert (await client.post(SERVICE_TOKEN, data=EXPORTS)).status_code == 404


async def test_the_kit_client_gets_tokens_every_service_accepts(identity_settings: Any) -> None:
    settings = identity_settings()
    async with serving(create_app(settings)) as url:
        credentials = ClientCredentials(
            token_url=f"{url}{SERVICE_TOKEN}",
            client_id="licheng-exports",
            client_secret=SecretStr("licheng-dev-service-secret"),
        )
        token = await credentials.token()
        assert await credentials.token() == token  # cached
        verifier = TokenVerifier(
            jwks_url=f"{url}/api/identity/v1/dev-auth/jwks",
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
        principal = principal_from_claims(await verifier.verify(token))
        assert principal.service is True
        assert principal.client_id == "licheng-exports"
        refused = ClientCredentials(
            token_url=f"{url}{SERVICE_TOKEN}",
            client_id="licheng-exports",
            client_secret=SecretStr("not-the-secret"),
        )
        with pytest.raises(ServiceTokenError) as failed:
            await refused.token()
        assert (failed.value.status, failed.value.oauth_error) == (401, "invalid_client")
