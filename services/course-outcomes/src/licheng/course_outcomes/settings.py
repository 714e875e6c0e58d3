"""Settings of the course-outcomes service (environment prefix `LICHENG_COURSE_OUTCOMES_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from licheng.kit.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", env_prefix="LICHENG_COURSE_OUTCOMES_")

    port: int = 8102
    database_url: str = "sqlite+aiosqlite:///./var/local/course_outcomes.db"
    # The deadline rush lands here (create → upload → 送審 → 勾選 for a whole school at once):
    # 15 kept + 15 more under load. Uploads hold no connection during their S3 put, so each
    # request needs one for milliseconds; docs/course-outcomes.md, "Uploads and the pool".
    database_pool_size: int = 15
    database_max_overflow: int = 15
