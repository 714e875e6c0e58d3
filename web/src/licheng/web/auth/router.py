"""`/auth/…`: sign in (Keycloak or the development form), the callback, the school choice
and sign-out (which also ends the Keycloak session)."""

from __future__ import annotations

import hmac
from typing import Annotated

import httpx
import structlog
from authlib.integrations.base_client.errors import OAuthError  # type: ignore[import-untyped]
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licheng.kit.errors import Unauthorized
from licheng.web.auth.identity import session_from_tokens
from licheng.web.auth.oidc import KeycloakUnavailable
from licheng.web.deps import CurrentSession, settings_of
from licheng.web.pages.render import render
from licheng.web.sessions import COOKIE, Session, SessionStore, new_id

router = APIRouter(prefix="/auth", include_in_schema=False)
log = structlog.get_logger("licheng.web.auth")
LOGIN_CSRF = "licheng_login_csrf"


def safe_next(value: str | None) -> str:
    """A local path to return to (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _with_session(request: Request, session: Session, location: str) -> Response:
    response = RedirectResponse(location, status_code=303)
    settings = settings_of(request)
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF, path="/auth")
    return response


async def _start_session(request: Request, tokens: dict[str, object], next_path: str) -> Response:
    session = await session_from_tokens(request.app.state.token_verifier, dict(tokens))
    store: SessionStore = request.app.state.sessions
    await store.save(session)
    log.info("web.signed_in", person_id=session.person_id, schools=len(session.roles_by_school))
    if session.school_code is None and len(session.roles_by_school) > 1:
        next_path = "/auth/school?next=" + next_path
    return _with_session(request, session, next_path)


def _sign_in_unavailable(request: Request, error: KeycloakUnavailable) -> Response:
    log.warning("web.sign_in_unavailable", error=str(error))
    return render(request, "error.html", {"title": "暫時無法登入", "status": 503,
                  "code": "sign_in_unavailable",
                  "message": "登入服務暫時無法連線，請稍後再試。已登入的使用者不受影響。",
                  "retry": "/auth/login"}, status_code=503)  # fmt: skip


@router.get("/login")
async def login(request: Request, next: str | None = None) -> Response:
    """Keycloak's sign-in page, or the development form."""
    next_path = safe_next(next)
    provider = request.app.state.oidc
    if provider is not None:
        try:
            url, pending = await provider.start(next_path=next_path)
        except KeycloakUnavailable as error:
            return _sign_in_unavailable(request, error)
        await request.app.state.sessions.begin_sign_in(pending)
        return RedirectResponse(url, status_code=303)
    token = new_id()
    response = render(
        request, "login.html", {"title": "登入", "next": next_path, "csrf_token": token}
    )
    response.set_cookie(LOGIN_CSRF, token, max_age=600, httponly=True, samesite="strict",
                        path="/auth")  # fmt: skip
    return response


@router.post("/login")
async def development_login(
    request: Request,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """The development form: identity's development issuer checks the password."""
    if request.app.state.oidc is not None:
        raise Unauthorized("請使用單一登入", code="sso_only")
    expected = request.cookies.get(LOGIN_CSRF, "")
    next_path = safe_next(next)
    if not expected or not hmac.compare_digest(expected, csrf_token):
        return render(request, "login.html", {"title": "登入", "next": next_path,
                      "csrf_token": expected or new_id(),
                      "error": "表單已逾時，請重新送出"}, status_code=400)  # fmt: skip
    http: httpx.AsyncClient = request.app.state.gateway_http
    answer = await http.post(
        "/api/identity/v1/dev-auth/token", json={"username": username, "password": password}
    )
    if answer.status_code != 200:
        message = "帳號或密碼錯誤" if answer.status_code == 401 else "登入服務暫時無法使用"
        return render(request, "login.html", {"title": "登入", "next": next_path,
                      "csrf_token": expected, "username": username,
                      "error": message}, status_code=answer.status_code)  # fmt: skip
    return await _start_session(request, answer.json(), next_path)


@router.get("/callback")
async def callback(
    request: Request, code: str | None = None, state: str | None = None,
    error: str | None = None,
) -> Response:  # fmt: skip
    """Keycloak sends the browser back here with the code."""
    store: SessionStore = request.app.state.sessions
    pending = await store.finish_sign_in(state or "")
    if error or not code or pending is None:
        return render(request, "error.html", {"title": "登入未完成", "status": 400,
                      "message": "登入未完成或已逾時，請重新登入。", "retry": "/auth/login"},
                      status_code=400)  # fmt: skip
    try:
        tokens = await request.app.state.oidc.finish(code=code, pending=pending)
    except KeycloakUnavailable as down:
        return _sign_in_unavailable(request, down)
    except OAuthError as refused:
        # Keycloak refused the code: used already, or expired while the sign-in dragged on.
        log.warning("web.sign_in_refused", error=refused.error)
        return render(request, "error.html", {"title": "登入未完成", "status": 400,
                      "message": "登入未完成或已逾時，請重新登入。", "retry": "/auth/login"},
                      status_code=400)  # fmt: skip
    return await _start_session(request, tokens, pending.next_path)


@router.get("/school", response_class=HTMLResponse)
async def choose_school(
    request: Request, session: CurrentSession, next: str | None = None
) -> Response:
    """A person with roles in several schools picks the one to work in."""
    return render(request, "school.html", {"title": "選擇學校", "next": safe_next(next),
                  "schools": sorted(session.roles_by_school)}, session=session)  # fmt: skip


@router.post("/school")
async def set_school(
    request: Request,
    session: CurrentSession,
    school_code: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Remember the chosen school."""
    if school_code not in session.roles_by_school:
        return render(request, "school.html", {"title": "選擇學校", "next": safe_next(next),
                      "schools": sorted(session.roles_by_school),
                      "error": "您在此學校沒有任何角色"}, session=session,
                      status_code=400)  # fmt: skip
    session.school_code = school_code
    await request.app.state.sessions.save(session)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request, session: CurrentSession) -> Response:
    """End the session here and at Keycloak."""
    await request.app.state.sessions.delete(session.id)
    provider = request.app.state.oidc
    after = settings_of(request).public_url.rstrip("/") + "/"
    location = "/"
    if provider is not None:
        try:
            location = await provider.sign_out_url(id_token=session.id_token, after=after)
        except KeycloakUnavailable:  # signed out here; Keycloak's session ends on its own
            log.warning("web.sign_out_unavailable")
    response = RedirectResponse(location, status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
