"""Sign-in for identity's own people in development, with Keycloak's claims and a JWKS.

Tokens carry the same `iss`/`aud`/`pid`/`groups` shape as Keycloak's, computed from the same
effective roles the Keycloak sync pushes, so services cannot tell the two apart. The settings
refuse to enable this in production.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from licheng.identity.deps import API
from licheng.identity.grants.roles import effective_roles, group_paths
from licheng.identity.people import repository
from licheng.identity.settings import Settings
from licheng.kit.auth import DISTRICT_OPERATORS_GROUP
from licheng.kit.db import SessionDep
from licheng.kit.errors import Unauthorized, error_responses
from licheng.kit.tokens import RsaSigner

router = APIRouter(
    prefix=API + "/dev-auth", tags=["development sign-in"], responses=error_responses()
)
OPERATOR_USERNAME = "operator"
OPERATOR_PID = uuid.UUID("00000000-0000-4000-8000-00000000000d")
TOKEN_LIFETIME_SECONDS = 15 * 60  # short, so a revoked role stops working soon


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
