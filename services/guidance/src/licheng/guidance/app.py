"""The guidance service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from licheng.guidance.settings import Settings
from licheng.kit.service import ServiceDefinition, create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the guidance service."""
    return create_service_app(
        ServiceDefinition(
            name="guidance",
            title="Licheng guidance: 課程諮詢 records, 自傳 and 學習計畫",
            settings=settings or Settings(),
            event_stream="guidance",
        )
    )
