"""Gateway settings (environment prefix `LICHENG_GATEWAY_`)."""

from __future__ import annotations

import re

import limits
from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import ServiceSettings

MIB = 1024 * 1024

DEFAULT_UPSTREAMS = {
    "identity": "http://127.0.0.1:8101",
    "course-outcomes": "http://127.0.0.1:8102",
    "performances": "http://127.0.0.1:8103",
    "guidance": "http://127.0.0.1:8104",
    "exports": "http://127.0.0.1:8105",
}

# Schools' files are at most 10 MB (plus multipart overhead); imports of whole rosters run larger.
DEFAULT_BODY_LIMITS = {
    r"/imports(/|$)": 20 * MIB,
    r"/(files|uploads)(/|$)": 12 * MIB,
}


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_GATEWAY_")

    port: int = 8000
    upstreams: dict[str, str] = DEFAULT_UPSTREAMS
    portal_url: str = "http://127.0.0.1:8090"
    # Paths under /api/<service>/ reachable without a token (sign-in, keys, API documents).
    public_paths: tuple[str, ...] = ("v1/dev-auth/", "v1/public/", "openapi.json")
    upstream_timeout_seconds: float = 30.0
    upstream_connect_timeout_seconds: float = 3.0
    # Connections in use at once to each service; more requests wait for one, up to the pool
    # timeout. A service runs one process with 20 database connections (10 + 10 overflow), so
    # 64 requests in flight keep it busy and the rest of a rush queues cheaply here
    # (docs/gateway.md).
    upstream_pool_size: int = Field(default=64, ge=1)
    upstream_pool_timeout_seconds: float = 30.0

    # Rate limits in the `limits` notation: per token subject when the token is valid...
    rate_limit: str = "600/minute"
    # ...else per client address.
    anonymous_rate_limit: str = "120/minute"
    # The portal's pages before sign-in, per client address: sized for a whole school behind
    # one NAT address (300 students opening the portal before a deadline)...
    portal_rate_limit: str = "3000/minute"
    # ...and, once signed in, per portal session (the session cookie). Static assets are free.
    portal_session_rate_limit: str = "300/minute"
    portal_session_cookie: str = "licheng_session"
    # Sign-in is limited per client address, harder, to slow down guessing.
    sign_in_rate_limit: str = "20/minute"
    sign_in_paths: tuple[str, ...] = ("/api/identity/v1/dev-auth/",)
    # `memory://` counts per gateway process; a shared store (`redis://…`) counts across replicas.
    rate_limit_storage_uri: str = "memory://"
    # How many proxies in front of the gateway append to X-Forwarded-For; 0 believes none of it.
    trusted_proxy_hops: int = Field(default=0, ge=0)

    # Request bodies: the default limit, and regular expressions searched in the path → limit
    # (the first that matches wins).
    max_body_bytes: int = 1 * MIB
    body_limits: dict[str, int] = DEFAULT_BODY_LIMITS

    @field_validator(
        "rate_limit",
        "anonymous_rate_limit",
        "sign_in_rate_limit",
        "portal_rate_limit",
        "portal_session_rate_limit",
    )
    @classmethod
    def _parsable_rate_limit(cls, value: str) -> str:
        limits.parse(value)  # raises ValueError, refusing start-up on a typo
        return value

    @field_validator("body_limits")
    @classmethod
    def _compilable_patterns(cls, value: dict[str, int]) -> dict[str, int]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"body_limits: {pattern!r} is not a regular expression") from exc
        return value
