"""Settings of the course-outcomes service (environment prefix `LICHENG_COURSE_OUTCOMES_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_COURSE_OUTCOMES_")

    port: int = 8102
    database_url: str = "sqlite+aiosqlite:///./var/local/course_outcomes.db"
