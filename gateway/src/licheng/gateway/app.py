"""The gateway: the one door in.

`/api/<service>/…` goes to that service after the token is verified here (401 before the
request reaches a service), everything else to the portal. Every proxied request is first
counted against its caller's rate limit (429) and its body against the route's size limit
(413). It adds `X-Request-ID`, answers 503/504 for services that are down or slow, and serves
aggregated health and one merged OpenAPI document. Health and metrics are never limited.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.routing import Match, Route
from starlette.types import Scope

from licheng.gateway.body_limit import BodyLimits
from licheng.gateway.caller import Caller, VerifiedTokens, identify
from licheng.gateway.docs import docs_asset, docs_page
from licheng.gateway.openapi import merged_openapi
from licheng.gateway.proxy import UpstreamPool, forward, reject_dot_segments
from licheng.gateway.rate_limit import Quota, RateLimiter, async_storage
from licheng.gateway.settings import Settings
from licheng.kit.auth import TokenVerifier, principal_from_claims
from licheng.kit.errors import Forbidden, NotFound, install_error_handlers
from licheng.kit.health import ReadinessCheck, health_router
from licheng.kit.logging import RequestContextMiddleware, configure_logging
from licheng.kit.security_headers import SecurityHeadersMiddleware

PROXY_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _upstream_check(client: httpx.AsyncClient, base_url: str) -> ReadinessCheck:
    async def check() -> None:
        response = await client.get(f"{base_url}/readyz", timeout=2.0)
        if response.status_code != 200:
            raise RuntimeError(f"readyz answered {response.status_code}")

    return check


STATIC_PREFIX = "static/"


class ProxyRoute(Route):
    """A plain Starlette route that names itself in the scope as FastAPI's routes do: the
    request log and the metrics label each request by its route, not by its path."""

    def __init__(self, path: str, endpoint: Callable[[Request], Awaitable[Response]], **kw: Any):
        super().__init__(path, endpoint, include_in_schema=False, **kw)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


def _with_quota(response: Response, quota: Quota | None) -> Response:
    if quota is not None:
        response.headers.update(quota.headers())
    return response


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway."""
    settings = settings or Settings()
    configure_logging(service="gateway", level=settings.log_level, json=settings.log_json)
    # The request middleware logs each request once; httpx's own line per proxied request would
    # double that, query string included.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    body_limits = BodyLimits(settings.max_body_bytes, settings.body_limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(
            settings.upstream_timeout_seconds, connect=settings.upstream_connect_timeout_seconds
        )
        # httpx for the health checks and the merged API document (a few requests a minute);
        # the proxied traffic goes through the upstream pool.
        async with (
            httpx.AsyncClient(timeout=timeout) as client,
            UpstreamPool(
                size=settings.upstream_pool_size,
                connect_timeout=settings.upstream_connect_timeout_seconds,
                read_timeout=settings.upstream_timeout_seconds,
                pool_timeout=settings.upstream_pool_timeout_seconds,
            ) as pool,
        ):
            app.state.http = client
            app.state.upstream_pool = pool
            app.state.token_verifier = VerifiedTokens(
                TokenVerifier(
                    jwks_url=settings.jwks_url,
                    issuer=settings.jwt_issuer,
                    audience=settings.jwt_audience,
                )
            )
            app.state.rate_limiter = RateLimiter(
                async_storage(settings.rate_limit_storage_uri),
                authenticated=settings.rate_limit,
                anonymous=settings.anonymous_rate_limit,
                sign_in=settings.sign_in_rate_limit,
                portal=settings.portal_rate_limit,
                portal_session=settings.portal_session_rate_limit,
                sign_in_paths=settings.sign_in_paths,
            )
            upstreams = {**settings.upstreams, "portal": settings.portal_url}
            app.state.readiness_checks = {
                name: _upstream_check(client, url) for name, url in upstreams.items()
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
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware, service="gateway")
    app.include_router(health_router("gateway", lambda: getattr(app.state, "readiness_checks", {})))

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics, for service accounts only: the gateway faces the internet."""
        caller = await identify(request, request.app.state.token_verifier, trusted_proxy_hops=0)
        caller.require_token()
        if not principal_from_claims(caller.claims or {}).service:
            raise Forbidden("此功能僅供系統服務使用", code="service_only")
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def admit(request: Request) -> tuple[Caller, Quota | None]:
        """Check the path, identify the caller and count the request (400, 429)."""
        # Before anything looks at the path: `..` resolved further on could escape the route
        # (and the public-path check) the gateway decided on.
        reject_dot_segments(request.url.path)
        caller = await identify(
            request,
            request.app.state.token_verifier,
            trusted_proxy_hops=settings.trusted_proxy_hops,
        )
        rate_limiter: RateLimiter = request.app.state.rate_limiter
        session = request.cookies.get(settings.portal_session_cookie)
        return caller, await rate_limiter.hit(request.url.path, caller, portal_session=session)

    async def to_upstream(request: Request, base_url: str, service: str) -> Response:
        return await forward(
            request.app.state.upstream_pool,
            request,
            base_url=base_url,
            service=service,
            max_body_bytes=body_limits.for_path(request.url.path),
            trusted_proxy_hops=settings.trusted_proxy_hops,
        )

    @app.get("/api/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> Response:
        _, quota = await admit(request)
        document = await merged_openapi(request.app.state.http, settings.upstreams)
        return _with_quota(JSONResponse(document), quota)

    @app.get("/api/docs", include_in_schema=False)
    async def docs(request: Request) -> Response:
        _, quota = await admit(request)
        return _with_quota(docs_page(), quota)

    @app.get("/api/docs/static/{name}", include_in_schema=False)
    async def docs_static(name: str) -> Response:
        return docs_asset(name)

    # The proxied routes are plain Starlette endpoints: FastAPI's dependency solving and
    # parameter validation cost every request and give them nothing (docs/gateway.md).
    async def to_service(request: Request) -> Response:
        service: str = request.path_params["service"]
        path: str = request.path_params["path"]
        caller, quota = await admit(request)
        base_url = settings.upstreams.get(service)
        if base_url is None:
            raise NotFound("找不到指定的服務", code="unknown_service")
        if not path.startswith(settings.public_paths):
            caller.require_token()
        return _with_quota(await to_upstream(request, base_url, service), quota)

    async def to_portal(request: Request) -> Response:
        path: str = request.path_params["path"]
        if path.startswith(STATIC_PREFIX) and request.method in ("GET", "HEAD"):
            # Stylesheets and scripts are not counted against people.
            reject_dot_segments(request.url.path)
            return await to_upstream(request, settings.portal_url, "portal")
        _, quota = await admit(request)
        return _with_quota(await to_upstream(request, settings.portal_url, "portal"), quota)

    # In this order, after the routes above: the first that matches wins.
    app.router.routes.append(
        ProxyRoute("/api/{service}/{path:path}", to_service, methods=PROXY_METHODS)
    )
    app.router.routes.append(ProxyRoute("/{path:path}", to_portal, methods=["GET", "POST", "HEAD"]))
    return app
