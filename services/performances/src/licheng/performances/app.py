"""The performances service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from licheng.kit.service import ServiceDefinition, create_service_app
from licheng.performances.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the performances service."""
    return create_service_app(
        ServiceDefinition(
            name="performances",
            title="Licheng performances: 多元表現, cadre records, certificates, selection",
            settings=settings or Settings(),
            event_stream="performances",
        )
    )
