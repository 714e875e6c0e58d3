"""The gateway in front of a real identity service and portal, over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from licheng.gateway.app import create_app as create_gateway
from licheng.gateway.settings import Settings as GatewaySettings
from licheng.identity.app import create_app as create_identity
from licheng.identity.cli import MIGRATIONS_DIR
from licheng.identity.settings import Settings as IdentitySettings
from licheng.testing.apps import running, service_settings, serving
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.servers import free_port
from licheng.web.app import create_app as create_portal
from licheng.web.settings import Settings as PortalSettings


@dataclass
class Stack:
    gateway: httpx.AsyncClient
    identity_url: str


@pytest.fixture(scope="module")
async def stack(
    infra: TestInfra, migrated_database: MigratedDatabaseFactory, issuer: TestIssuer
) -> AsyncIterator[Stack]:
    database_url = await migrated_database(MIGRATIONS_DIR, "gateway")
    identity = create_identity(
        service_settings(
            IdentitySettings,
            infra=infra,
            database_url=database_url,
            jwks_url=issuer.jwks_url,
            issuer=issuer.issuer,
        )
    )
    portal = create_portal(
        PortalSettings(environment="test", nats_url=infra.nats_url, jwks_url=issuer.jwks_url,
                       jwt_issuer=issuer.issuer)
    )  # fmt: skip
    async with serving(identity) as identity_url, serving(portal) as portal_url:
        settings = GatewaySettings(
            environment="test",
            upstreams={"identity": identity_url, "guidance": f"http://127.0.0.1:{free_port()}"},
            portal_url=portal_url,
            jwks_url=issuer.jwks_url,
            jwt_issuer=issuer.issuer,
        )
        async with running(create_gateway(settings)) as gateway:
            yield Stack(gateway=gateway, identity_url=identity_url)


async def test_request_with_a_valid_token_reaches_the_service(
    stack: Stack, issuer: TestIssuer
) -> None:
    person = uuid.uuid4()
    headers = {
        **issuer.headers(person_id=person, groups=["/schools/011302/course_teacher"]),
        "x-request-id": "trace-me-123",
    }
    response = await stack.gateway.get("/api/identity/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "trace-me-123"
    body = response.json()
    assert body["person_id"] == str(person)
    assert body["schools"] == [
        {"school_code": "011302", "roles": ["course_teacher"], "role_titles": ["授課教師"]}
    ]


async def test_no_or_bad_token_is_401_at_the_gateway(stack: Stack, issuer: TestIssuer) -> None:
    missing = await stack.gateway.get("/api/identity/v1/me")
    assert missing.status_code == 401
    assert missing.json()["error"] == "unauthorized"
    assert missing.headers["x-request-id"]
    token = issuer.token()
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    bad = await stack.gateway.get(
        "/api/identity/v1/me", headers={"authorization": f"Bearer {tampered}"}
    )
    assert bad.status_code == 401
    # A service that is down still answers 401 first: the token is checked before routing on.
    unreached = await stack.gateway.get("/api/guidance/v1/anything")
    assert unreached.status_code == 401


async def test_service_down_is_a_clear_503(stack: Stack, issuer: TestIssuer) -> None:
    response = await stack.gateway.get("/api/guidance/v1/anything", headers=issuer.headers())
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "service_unavailable"
    assert "guidance" in body["message"]


async def test_unknown_service_is_404(stack: Stack, issuer: TestIssuer) -> None:
    response = await stack.gateway.get("/api/nope/v1/x", headers=issuer.headers())
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_service"


async def test_portal_and_merged_openapi(stack: Stack) -> None:
    portal = await stack.gateway.get("/")
    assert portal.status_code == 200
    assert "學習歷程檔案" in portal.text
    document = (await stack.gateway.get("/api/openapi.json")).json()
    assert "/api/identity/v1/me" in document["paths"]
    assert "guidance" in document["info"]["description"]  # listed as unavailable
    docs = await stack.gateway.get("/api/docs")
    assert docs.status_code == 200


async def test_aggregated_readiness_names_the_service_that_is_down(stack: Stack) -> None:
    response = await stack.gateway.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["identity"] == "ok"
    assert checks["guidance"] != "ok"


async def test_metrics_are_for_service_accounts_only(stack: Stack, issuer: TestIssuer) -> None:
    assert (await stack.gateway.get("/metrics")).status_code == 401
    person = issuer.headers(groups=["/schools/011302/admin"])
    assert (await stack.gateway.get("/metrics", headers=person)).status_code == 403
    scraper = issuer.headers(roles=["service"], azp="prometheus")
    scraped = await stack.gateway.get("/metrics", headers=scraper)
    assert scraped.status_code == 200
    assert "licheng_http_requests_total" in scraped.text


async def test_api_docs_load_nothing_from_elsewhere(stack: Stack) -> None:
    page = await stack.gateway.get("/api/docs")
    assert page.status_code == 200
    assert "https://" not in page.text
    assert "<script>" not in page.text  # no inline script: the policy forbids it
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "docs-init.js"):
        served = await stack.gateway.get(f"/api/docs/static/{asset}")
        assert served.status_code == 200, asset
        assert len(served.content) > 100
    assert (await stack.gateway.get("/api/docs/static/../app.py")).status_code in (400, 404)


async def test_answers_carry_security_headers_and_api_data_is_not_cached(
    stack: Stack, issuer: TestIssuer
) -> None:
    answer = await stack.gateway.get(
        "/api/identity/v1/me", headers=issuer.headers(groups=["/district/operators"])
    )
    assert answer.status_code == 200
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"  # personal data: never cached
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    portal = await stack.gateway.get("/")
    assert portal.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in portal.headers["content-security-policy"]
