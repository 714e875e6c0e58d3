"""Settings of the identity service (environment prefix `LICHENG_IDENTITY_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_IDENTITY_")

    port: int = 8101
    database_url: str = "sqlite+aiosqlite:///./var/local/identity.db"
