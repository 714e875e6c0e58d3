"""Client-credentials tokens from the real Keycloak: cached, shared, verified as a service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from licheng.kit.auth import TokenVerifier, principal_from_claims
from licheng.kit.service_tokens import ClientCredentials, ServiceTokenError
from licheng.testing.infra import TestInfra
from licheng.testing.servers import free_port

CLIENT_ID = "licheng-exports"
CLIENT_SECRET = "exports-dev-secret"  # the test realm's secret for licheng-exports


class CountingHttp:
    """A real HTTP client that counts the token requests it sends."""

    def __init__(self) -> None:
        self.requests = 0
        self.client = httpx.AsyncClient(timeout=30.0, event_hooks={"request": [self._count]})

    async def _count(self, _request: httpx.Request) -> None:
        self.requests += 1


@pytest.fixture
async def counting_http() -> AsyncIterator[CountingHttp]:
    http = CountingHttp()
    yield http
    await http.client.aclose()


def _token_url(infra: TestInfra) -> str:
    return f"{infra.keycloak_issuer}/protocol/openid-connect/token"


def _credentials(
    infra: TestInfra, http: CountingHttp, *, secret: str = CLIENT_SECRET, **options: float
) -> ClientCredentials:
    return ClientCredentials(
        token_url=_token_url(infra),
        client_id=CLIENT_ID,
        client_secret=SecretStr(secret),
        http=http.client,
        **options,
    )


async def test_keycloak_token_is_a_service_principal_and_cached(
    infra: TestInfra, counting_http: CountingHttp
) -> None:
    credentials = _credentials(infra, counting_http)
    token = await credentials.token()
    verifier = TokenVerifier(
        jwks_url=f"{infra.keycloak_issuer}/protocol/openid-connect/certs",
        issuer=infra.keycloak_issuer,
        audience="licheng",
    )
    principal = principal_from_claims(await verifier.verify(token))
    assert principal.service is True
    assert principal.client_id == CLIENT_ID
    assert principal.person_id is None
    assert principal.roles_by_school == {}
    # Until 30 s before it expires, the same token serves every caller without a request.
    assert await credentials.token() == token
    assert counting_http.requests == 1


async def test_concurrent_callers_share_one_request(
    infra: TestInfra, counting_http: CountingHttp
) -> None:
    credentials = _credentials(infra, counting_http)
    tokens = await asyncio.gather(*(credentials.token() for _ in range(8)))
    assert len(set(tokens)) == 1
    assert counting_http.requests == 1


async def test_a_token_near_expiry_is_renewed(
    infra: TestInfra, counting_http: CountingHttp
) -> None:
    # A margin longer than the realm's token lifespan: every token is already "near expiry".
    credentials = _credentials(infra, counting_http, refresh_margin_seconds=24 * 3600)
    await credentials.token()
    await credentials.token()
    assert counting_http.requests == 2
    kept = _credentials(infra, counting_http)
    await kept.token()
    kept.invalidate()  # e.g. after a service refused it
    await kept.token()
    assert counting_http.requests == 4


async def test_a_wrong_secret_is_refused_without_showing_it(
    infra: TestInfra, counting_http: CountingHttp
) -> None:
    wrong = "not-the-exports-secret-0123"
    credentials = _credentials(infra, counting_http, secret=wrong)
    with pytest.raises(ServiceTokenError) as refused:
        await credentials.token()
    assert refused.value.status == 401
    assert refused.value.oauth_error == "unauthorized_client"
    assert "拒絕" in str(refused.value)
    for shown in (str(refused.value), repr(refused.value), repr(credentials)):
        assert wrong not in shown
        assert CLIENT_SECRET not in shown
    # Nothing was cached: a later call asks again.
    with pytest.raises(ServiceTokenError):
        await credentials.token()
    assert counting_http.requests == 2


async def test_an_unreachable_token_endpoint_is_a_clear_error() -> None:
    credentials = ClientCredentials(
        token_url=f"http://127.0.0.1:{free_port()}/token",
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
    )
    with pytest.raises(ServiceTokenError, match="無法連線") as unreachable:
        await credentials.token()
    assert unreachable.value.status is None
    assert unreachable.value.status_code == 503  # if it reaches an API caller: 503, not 500
