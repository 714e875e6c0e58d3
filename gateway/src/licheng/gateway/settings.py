"""Gateway settings (environment prefix `LICHENG_GATEWAY_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import ServiceSettings

DEFAULT_UPSTREAMS = {
    "identity": "http://127.0.0.1:8101",
    "course-outcomes": "http://127.0.0.1:8102",
    "performances": "http://127.0.0.1:8103",
    "guidance": "http://127.0.0.1:8104",
    "exports": "http://127.0.0.1:8105",
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
