"""The exports service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from licheng.exports.settings import Settings
from licheng.kit.service import ServiceDefinition, create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the exports service."""
    return create_service_app(
        ServiceDefinition(
            name="exports",
            title="Licheng exports: read model, roster submissions, export jobs",
            settings=settings or Settings(),
            event_stream="exports",
        )
    )
