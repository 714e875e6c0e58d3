"""What every page depends on: the signed-in session (refreshed before it expires), the
person's view of the API, CSRF protection of every form, and the chosen school."""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote

import structlog
from fastapi import Depends, Request

from licheng.web.auth.identity import session_from_tokens
from licheng.web.gateway import GatewayApi
from licheng.web.sessions import COOKIE, Session, SessionStore
from licheng.web.settings import Settings

log = structlog.get_logger("licheng.web")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequired(Exception):
    """No (valid) session: the browser is sent to sign in, then back to `next_path`."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(Exception):
    """A form without the session's CSRF token."""


class SchoolRequired(Exception):
    """The person works in several schools and has not picked one yet."""


def settings_of(request: Request) -> Settings:
    """The portal's settings."""
    settings: Settings = request.app.state.settings
    return settings


def _next_path(request: Request) -> str:
    path = request.url.path
    if request.method != "GET":
        return "/"
    return path + (f"?{request.url.query}" if request.url.query else "")


async def current_session(request: Request) -> Session:
    """The signed-in session, refreshed when its token is about to end; else sign in."""
    store: SessionStore = request.app.state.sessions
    settings = settings_of(request)
    session = await store.get(request.cookies.get(COOKIE, ""))
    if session is None:
        raise SignInRequired(_next_path(request))
    if session.expired(settings.refresh_margin_seconds):
        provider = request.app.state.oidc
        if provider is None or not session.refresh_token:
            await store.delete(session.id)
            raise SignInRequired(_next_path(request))
        try:
            tokens = await provider.refresh(session.refresh_token)
            session = await session_from_tokens(
                request.app.state.token_verifier, tokens, previous=session
            )
        except Exception as exc:  # refresh refused or expired: sign in again
            log.info("web.refresh_failed", error=type(exc).__name__)
            await store.delete(session.id)
            raise SignInRequired(_next_path(request)) from None
        await store.save(session)
    if request.method in UNSAFE:
        await _check_csrf(request, session)
    request.state.session = session
    return session


async def _check_csrf(request: Request, session: Session) -> None:
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, session.csrf):
        raise CsrfRefused


CurrentSession = Annotated[Session, Depends(current_session)]


async def school_session(session: CurrentSession) -> Session:
    """A session that has a school chosen (a person of several schools picks one first)."""
    if session.school_code is None:
        raise SchoolRequired
    return session


SchoolSession = Annotated[Session, Depends(school_session)]


def gateway_api(request: Request, session: CurrentSession) -> GatewayApi:
    """The API as the signed-in person sees it."""
    return GatewayApi(
        request.app.state.gateway_http,
        token=session.access_token,
        request_id=request.headers.get("x-request-id"),
    )


Api = Annotated[GatewayApi, Depends(gateway_api)]


def sign_in_location(next_path: str) -> str:
    """The sign-in address that returns to `next_path`."""
    return "/auth/login?next=" + quote(next_path, safe="")
