"""The course-outcomes service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from licheng.course_outcomes.settings import Settings
from licheng.kit.service import ServiceDefinition, create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the course-outcomes service."""
    return create_service_app(
        ServiceDefinition(
            name="course_outcomes",
            title="Licheng course outcomes: 修課紀錄, outcomes, certification, selection",
            settings=settings or Settings(),
            event_stream="course_outcomes",
        )
    )
