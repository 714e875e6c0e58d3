"""Settings of the performances service (environment prefix `LICHENG_PERFORMANCES_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_PERFORMANCES_")

    port: int = 8103
    database_url: str = "sqlite+aiosqlite:///./var/local/performances.db"
