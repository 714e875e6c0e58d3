"""Settings of the exports service (environment prefix `LICHENG_EXPORTS_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_EXPORTS_")

    port: int = 8105
    database_url: str = "sqlite+aiosqlite:///./var/local/exports.db"
