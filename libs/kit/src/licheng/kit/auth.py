"""Token verification and the principal behind a request.

Every service verifies RS256 tokens itself against the issuer's JWKS (cached, refetched when a
token names a key we have not seen), checking issuer, audience and expiry. No per-request call
to identity or Keycloak.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Annotated, Any

import httpx
import jwt
import structlog
from fastapi import Depends, Request

from licheng.contracts.permissions import Role
from licheng.contracts.schools import is_school_code
from licheng.kit.errors import RETRY_AFTER_DOWN, ServiceUnavailable, Unauthorized

log = structlog.get_logger("licheng.auth")

ALGORITHM = "RS256"
DISTRICT_OPERATORS_GROUP = "/district/operators"
SERVICE_ROLE = "service"
_ROLE_VALUES = frozenset(r.value for r in Role)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a person with roles per school, or a service account."""

    subject: str
    person_id: uuid.UUID | None
    username: str | None = None
    name: str | None = None
    roles_by_school: Mapping[str, frozenset[Role]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    district_operator: bool = False
    service: bool = False
    client_id: str | None = None

    def roles_in(self, school_code: str) -> frozenset[Role]:
        """The roles held in one school (empty when none)."""
        return self.roles_by_school.get(school_code, frozenset())


def roles_from_groups(groups: list[str]) -> dict[str, frozenset[Role]]:
    """Read `/schools/<code>/<role>` group paths; anything else is ignored."""
    found: dict[str, set[Role]] = {}
    for path in groups:
        parts = path.strip("/").split("/")
        if (
            len(parts) == 3
            and parts[0] == "schools"
            and is_school_code(parts[1])
            and parts[2] in _ROLE_VALUES
        ):
            found.setdefault(parts[1], set()).add(Role(parts[2]))
    return {school: frozenset(roles) for school, roles in found.items()}


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """Turn verified claims into a Principal."""
    groups = [g for g in claims.get("groups") or [] if isinstance(g, str)]
    roles = claims.get("roles") or []
    is_service = isinstance(roles, list) and SERVICE_ROLE in roles
    raw_pid = claims.get("pid")
    person_id: uuid.UUID | None = None
    if raw_pid and not is_service:
        try:
            person_id = uuid.UUID(str(raw_pid))
        except ValueError as exc:
            raise Unauthorized("登入憑證內容有誤", code="token_invalid") from exc
    return Principal(
        subject=str(claims["sub"]),
        person_id=person_id,
        username=claims.get("preferred_username"),
        name=claims.get("name"),
        roles_by_school=MappingProxyType({} if is_service else roles_from_groups(groups)),
        district_operator=not is_service and DISTRICT_OPERATORS_GROUP in groups,
        service=is_service,
        client_id=claims.get("azp"),
    )


class KeysUnavailable(ServiceUnavailable):
    """The issuer's signing keys could not be fetched: the token may be fine, try again."""

    code = "jwks_unavailable"
    default_message = "暫時無法驗證登入憑證，請稍後再試"

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": RETRY_AFTER_DOWN})


# A JWKS fetch that fails on the way (a refused or timed-out connection, a cut response) is
# tried once more at once: one lost connection must not turn a valid token away.
FETCH_ATTEMPTS = 2


class TokenVerifier:
    """Verifies RS256 JWTs against a JWKS endpoint, caching its keys."""

    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        audience: str,
        cache_seconds: float = 600.0,
        min_refetch_seconds: float = 5.0,
        leeway_seconds: float = 10.0,
    ) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self._cache_seconds = cache_seconds
        self._min_refetch = min_refetch_seconds
        self._leeway = leeway_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._next_attempt = float("-inf")
        self._lock = asyncio.Lock()

    async def _fetch(self) -> None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            for attempt in range(1, FETCH_ATTEMPTS + 1):
                try:
                    response = await client.get(self.jwks_url)
                    break
                except httpx.TransportError as exc:
                    if attempt == FETCH_ATTEMPTS:
                        raise
                    log.info("auth.jwks_retry", error=type(exc).__name__)
            response.raise_for_status()
            document = response.json()
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig" and "kid" in jwk:
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm=ALGORITHM).key
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def _key(self, kid: str) -> Any:
        age = time.monotonic() - self._fetched_at
        if kid in self._keys and age < self._cache_seconds:
            return self._keys[kid]
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            # An unknown kid may be a rotated key: refetch, but not more often than allowed.
            stale = age >= self._cache_seconds or (
                kid not in self._keys and age >= self._min_refetch
            )
            if stale and time.monotonic() >= self._next_attempt:
                try:
                    await self._fetch()
                except (httpx.HTTPError, ValueError) as exc:
                    # An unreachable JWKS is asked at most every min_refetch seconds, not once
                    # per waiting request.
                    self._next_attempt = time.monotonic() + self._min_refetch
                    log.warning("auth.jwks_unavailable", error=type(exc).__name__)
                    if kid not in self._keys:
                        raise KeysUnavailable() from exc
        if kid not in self._keys:
            if time.monotonic() < self._next_attempt:  # the JWKS was unreachable just now
                raise KeysUnavailable()
            raise Unauthorized("登入憑證無效", code="token_invalid")
        return self._keys[kid]

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims; Unauthorized for anything not exactly right, KeysUnavailable (503)
        when the issuer's keys cannot be fetched."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("登入憑證無效", code="token_invalid") from exc
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise Unauthorized("登入憑證無效", code="token_invalid")
        key = await self._key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("登入已逾時，請重新登入", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("登入憑證無效", code="token_invalid") from exc
        return claims


def bearer_token(request: Request) -> str:
    """The bearer token of the request; 401 when there is none."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


async def get_principal(request: Request) -> Principal:
    """The verified caller of this request."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = principal_from_claims(await verifier.verify(bearer_token(request)))
    request.state.principal = principal
    structlog.contextvars.bind_contextvars(subject=principal.subject)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
