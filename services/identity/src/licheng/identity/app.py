"""The identity service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from licheng.identity.me.router import router as me_router
from licheng.identity.settings import Settings
from licheng.kit.service import ServiceDefinition, create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the identity service."""
    return create_service_app(
        ServiceDefinition(
            name="identity",
            title="Licheng identity: schools, people, classes, role grants, announcements",
            settings=settings or Settings(),
            event_stream="identity",
            routers=[me_router],
        )
    )
