"""Settings of the performances service (environment prefix `LICHENG_PERFORMANCES_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_PERFORMANCES_")

    port: int = 8103
    database_url: str = "sqlite+aiosqlite:///./var/local/performances.db"
    # The kit's 10 kept + 10 more under load: proof-file uploads hold no connection during
    # their S3 put; docs/performances.md, "Uploads and the pool".
    database_pool_size: int = 10
    database_max_overflow: int = 10
