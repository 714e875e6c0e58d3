"""Settings of the guidance service (environment prefix `LICHENG_GUIDANCE_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_GUIDANCE_")

    port: int = 8104
    database_url: str = "sqlite+aiosqlite:///./var/local/guidance.db"
