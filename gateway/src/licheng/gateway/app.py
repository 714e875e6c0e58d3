"""The gateway: the one door in.

`/api/<service>/…` goes to that service after the token is verified here (401 before the
request reaches a service), everything else to the portal. It adds `X-Request-ID`, answers
503/504 for services that are down or slow, and serves aggregated health and one merged
OpenAPI document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.responses import StreamingResponse

from licheng.gateway.openapi import merged_openapi
from licheng.gateway.proxy import forward
from licheng.gateway.settings import Settings
from licheng.kit.auth import TokenVerifier, bearer_token
from licheng.kit.errors import NotFound, install_error_handlers
from licheng.kit.health import ReadinessCheck, health_router
from licheng.kit.logging import RequestContextMiddleware, configure_logging
from licheng.kit.metrics import metrics_router

PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _upstream_check(client: httpx.AsyncClient, base_url: str) -> ReadinessCheck:
    async def check() -> None:
        response = await client.get(f"{base_url}/readyz", timeout=2.0)
        if response.status_code != 200:
            raise RuntimeError(f"readyz answered {response.status_code}")

    return check


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway."""
    settings = settings or Settings()
    configure_logging(service="gateway", level=settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.upstream_connect_timeout_seconds
        )
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
            app.state.http = client
            app.state.token_verifier = TokenVerifier(
                jwks_url=settings.jwks_url,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
            )
            app.state.readiness_checks = {
                name: _upstream_check(client, url) for name, url in settings.upstreams.items()
            }
            yield

    app = FastAPI(
        title="Licheng gateway",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware, service="gateway")
    app.include_router(health_router("gateway", lambda: getattr(app.state, "readiness_checks", {})))
    app.include_router(metrics_router())

    @app.get("/api/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> JSONResponse:
        document = await merged_openapi(request.app.state.http, settings.upstreams)
        return JSONResponse(document)

    @app.get("/api/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/openapi.json", title="Licheng API")

    @app.api_route("/api/{service}/{path:path}", methods=PROXY_METHODS, include_in_schema=False)
    async def to_service(request: Request, service: str, path: str) -> StreamingResponse:
        base_url = settings.upstreams.get(service)
        if base_url is None:
            raise NotFound("找不到指定的服務", code="unknown_service")
        if not any(path.startswith(prefix) for prefix in settings.public_paths):
            verifier: TokenVerifier = request.app.state.token_verifier
            await verifier.verify(bearer_token(request))
        return await forward(request.app.state.http, request, base_url=base_url, service=service)

    @app.api_route("/{path:path}", methods=["GET", "POST", "HEAD"], include_in_schema=False)
    async def to_portal(request: Request, path: str) -> StreamingResponse:
        return await forward(
            request.app.state.http, request, base_url=settings.portal_url, service="portal"
        )

    return app
