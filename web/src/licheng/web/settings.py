"""Portal settings (environment prefix `LICHENG_WEB_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_WEB_")

    port: int = 8090
    gateway_url: str = "http://127.0.0.1:8000"
