"""Sign-in for identity's own people in development, with Keycloak's claims and a JWKS.

Tokens carry the same `iss`/`aud`/`pid`/`groups` shape as Keycloak's, computed from the same
effective roles the Keycloak sync pushes, so services cannot tell the two apart. Service accounts
(e.g. exports) get client-credentials tokens shaped like Keycloak's service-account tokens
(`azp`, `roles: ["service"]`). The settings refuse to enable this in production.
"""

from __future__ import annotations

import hmac
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from pydantic import BaseModel, Field

from licheng.identity.deps import API
from licheng.identity.grants.roles import effective_roles, group_paths
from licheng.identity.people import repository
from licheng.identity.settings import Settings
from licheng.kit.auth import DISTRICT_OPERATORS_GROUP, SERVICE_ROLE
from licheng.kit.db import SessionDep
from licheng.kit.errors import BadRequest, Unauthorized, error_responses
from licheng.kit.tokens import RsaSigner

router = APIRouter(
    prefix=API + "/dev-auth", tags=["development sign-in"], responses=error_responses()
)
OPERATOR_USERNAME = "operator"
OPERATOR_PID = uuid.UUID("00000000-0000-4000-8000-00000000000d")
TOKEN_LIFETIME_SECONDS = 15 * 60  # short, so a revoked role stops working soon
SERVICE_TOKEN_LIFETIME_SECONDS = 5 * 60  # as the Keycloak realm's access tokens
CLIENT_CREDENTIALS = "client_credentials"
# Keycloak names a service account's user `service-account-<client>` with a UUID subject; ours
# is derived from the client id so it stays the same across restarts.
_SERVICE_ACCOUNT_NAMESPACE = uuid.UUID("6f1c1e52-3c8e-4f1e-9d55-2d1f0b7a4c10")


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105  (the OAuth token type, not a secret)
    expires_in: int


@router.get("/jwks", summary="開發用簽章公鑰")
async def jwks(request: Request) -> dict[str, Any]:
    """The development issuer's public keys."""
    signer: RsaSigner = request.app.state.dev_signer
    return signer.jwks()


@router.post("/token", response_model=TokenResponse, summary="開發用登入")
async def sign_in(payload: SignIn, request: Request, session: SessionDep) -> TokenResponse:
    """A token for a person in identity (or the district operator) with the demo password."""
    settings: Settings = request.app.state.settings
    signer: RsaSigner = request.app.state.dev_signer
    if payload.password != settings.dev_password:
        raise Unauthorized("帳號或密碼錯誤", code="sign_in_failed")
    username = payload.username.strip().lower()
    if username == OPERATOR_USERNAME:
        claims = _claims(
            settings, OPERATOR_PID, username, "教育局（處）管理者", [DISTRICT_OPERATORS_GROUP]
        )
    else:
        person = await repository.get_by_username(session, username)
        if person is None:
            raise Unauthorized("帳號或密碼錯誤", code="sign_in_failed")
        groups = sorted(group_paths(person.school_code, await effective_roles(session, person)))
        claims = _claims(settings, person.id, person.username, person.name, groups)
    token = signer.mint(claims, lifetime_seconds=TOKEN_LIFETIME_SECONDS)
    return TokenResponse(access_token=token, expires_in=TOKEN_LIFETIME_SECONDS)


@router.post("/service-token", response_model=TokenResponse, summary="開發用系統服務憑證")
async def service_token(
    request: Request,
    response: Response,
    grant_type: Annotated[str, Form(max_length=50)],
    client_id: Annotated[str, Form(min_length=1, max_length=100)],
    client_secret: Annotated[str, Form(min_length=1, max_length=200)],
) -> TokenResponse:
    """A service-account token for a known client (OAuth2 client credentials, as Keycloak)."""
    settings: Settings = request.app.state.settings
    signer: RsaSigner = request.app.state.dev_signer
    if grant_type != CLIENT_CREDENTIALS:
        raise BadRequest("僅支援 client_credentials 授權方式", code="unsupported_grant_type")
    known = settings.dev_service_clients.get(client_id)
    expected = known.get_secret_value() if known is not None else ""
    matches = hmac.compare_digest(client_secret.encode(), expected.encode())
    if known is None or not matches:
        raise Unauthorized("系統服務帳號或密鑰錯誤", code="invalid_client")
    claims = {
        "iss": settings.jwt_issuer,
        "aud": [settings.jwt_audience],
        "sub": str(uuid.uuid5(_SERVICE_ACCOUNT_NAMESPACE, client_id)),
        "preferred_username": f"service-account-{client_id}",
        "azp": client_id,
        "roles": [SERVICE_ROLE],
    }
    token = signer.mint(claims, lifetime_seconds=SERVICE_TOKEN_LIFETIME_SECONDS)
    response.headers["cache-control"] = "no-store"  # as RFC 6749 asks of token responses
    return TokenResponse(access_token=token, expires_in=SERVICE_TOKEN_LIFETIME_SECONDS)


def _claims(
    settings: Settings, pid: uuid.UUID, username: str, name: str, groups: list[str]
) -> dict[str, Any]:
    return {
        "iss": settings.jwt_issuer,
        "aud": [settings.jwt_audience],
        "sub": str(pid),
        "pid": str(pid),
        "preferred_username": username,
        "name": name,
        "groups": groups,
        "azp": "licheng-dev",
    }
