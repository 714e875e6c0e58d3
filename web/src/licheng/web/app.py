"""The portal people use (zh-TW), server-rendered; it talks only to the gateway.

Sessions live in NATS KV (`sessions.py`); sign-in is Keycloak's code flow with PKCE or, in
development, identity's development issuer (`auth/`); every page calls the gateway with the
person's token (`gateway.py`) and shows only what the permission matrix lets them do
(`menu.py`). A refusal from the API becomes a clear page, never a stack trace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from licheng.kit.auth import TokenVerifier
from licheng.kit.errors import install_error_handlers
from licheng.kit.events import connect_nats
from licheng.kit.health import health_router
from licheng.kit.logging import RequestContextMiddleware, configure_logging
from licheng.kit.metrics import metrics_router
from licheng.kit.security_headers import PAGE_POLICY, SecurityHeadersMiddleware
from licheng.web.auth.oidc import OidcProvider
from licheng.web.auth.router import router as auth_router
from licheng.web.deps import CsrfRefused, SchoolRequired, SignInRequired, sign_in_location
from licheng.web.gateway import ApiRefused
from licheng.web.pages.admin import router as admin_router
from licheng.web.pages.announcements import router as announcements_router
from licheng.web.pages.cadres import router as cadres_router
from licheng.web.pages.certificates import router as certificates_router
from licheng.web.pages.counseling import router as counseling_router
from licheng.web.pages.courses import router as courses_router
from licheng.web.pages.district import router as district_router
from licheng.web.pages.home import router as home_router
from licheng.web.pages.homeroom import router as homeroom_router
from licheng.web.pages.homeroom_performances import router as homeroom_performances_router
from licheng.web.pages.performance_items import router as performance_items_router
from licheng.web.pages.performances import router as performances_router
from licheng.web.pages.receipts import router as receipts_router
from licheng.web.pages.render import render
from licheng.web.pages.rosters import router as rosters_router
from licheng.web.pages.student import router as student_router
from licheng.web.pages.student_performances import router as student_performances_router
from licheng.web.pages.student_writings import router as student_writings_router
from licheng.web.pages.teacher import router as teacher_router
from licheng.web.sessions import SessionStore
from licheng.web.settings import Settings

STATIC = Path(__file__).parent / "static"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the portal."""
    settings = settings or Settings()
    configure_logging(service="web", level=settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            nc = await connect_nats(
                settings.nats_url, name="web", timeout=settings.startup_timeout_seconds
            )
            stack.push_async_callback(nc.close)
            app.state.sessions = await SessionStore.open(
                nc.jetstream(),
                bucket=settings.sessions_bucket,
                ttl_seconds=settings.session_ttl_seconds,
            )
            app.state.gateway_http = await stack.enter_async_context(
                httpx.AsyncClient(base_url=settings.gateway_url, timeout=30)
            )
            app.state.token_verifier = TokenVerifier(
                jwks_url=settings.jwks_url,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
            )
            app.state.oidc = (
                OidcProvider(
                    issuer=settings.oidc_issuer,
                    client_id=settings.oidc_client_id,
                    redirect_uri=settings.public_url.rstrip("/") + "/auth/callback",
                    recheck_seconds=settings.oidc_recheck_seconds,
                )
                if settings.oidc_issuer
                else None
            )
            yield

    app = FastAPI(
        title="Licheng portal", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Sign-out posts here and is redirected to the sign-in provider: allow it as a form target.
    targets = f"form-action 'self' {_origin(settings.oidc_issuer)}".rstrip()
    app.add_middleware(
        SecurityHeadersMiddleware, page_policy=PAGE_POLICY.replace("form-action 'self'", targets)
    )
    app.add_middleware(RequestContextMiddleware, service="web")
    app.include_router(health_router("web", dict))
    app.include_router(metrics_router())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth_router)
    for router in (
        home_router,
        student_router,
        announcements_router,
        teacher_router,
        homeroom_router,
        courses_router,
        admin_router,
        district_router,
        student_performances_router,
        student_writings_router,
        homeroom_performances_router,
        counseling_router,
        performance_items_router,
        certificates_router,
        rosters_router,
        performances_router,
        cadres_router,
        receipts_router,
    ):
        app.include_router(router)
    _install_page_errors(app)
    return app


def _install_page_errors(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, exc: SignInRequired) -> Response:
        location = sign_in_location(exc.next_path)
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": location})
        return RedirectResponse(location, status_code=303)

    @app.exception_handler(SchoolRequired)
    async def school(request: Request, exc: SchoolRequired) -> Response:
        return RedirectResponse("/auth/school?next=" + request.url.path, status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf(request: Request, exc: CsrfRefused) -> HTMLResponse:
        return render(request, "error.html", {"title": "無法送出", "status": 403,
                      "code": "csrf_failed",
                      "message": "表單已逾時或來源不明，請重新整理頁面後再送出。"},
                      status_code=403)  # fmt: skip

    @app.exception_handler(ApiRefused)
    async def refused(request: Request, exc: ApiRefused) -> Response:
        if exc.status == 401:
            return RedirectResponse(sign_in_location(request.url.path), status_code=303)
        status = exc.status if 400 <= exc.status < 600 else 502
        return render(request, "error.html", {"title": "無法完成", "status": exc.status,
                      "code": exc.code, "message": exc.message}, status_code=status)  # fmt: skip
