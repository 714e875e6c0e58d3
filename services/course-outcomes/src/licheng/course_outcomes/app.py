"""The course-outcomes service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from licheng.course_outcomes.audit import router as audit_router
from licheng.course_outcomes.certification.delegations_router import router as delegations_router
from licheng.course_outcomes.certification.router import router as certification_router
from licheng.course_outcomes.courses.router import router as courses_router
from licheng.course_outcomes.locks.events import lock_consumer
from licheng.course_outcomes.locks.router import router as locks_router
from licheng.course_outcomes.models import OutcomeFile
from licheng.course_outcomes.outcomes.router import router as outcomes_router
from licheng.course_outcomes.outcomes.staff_router import router as staff_outcomes_router
from licheng.course_outcomes.parameters.router import router as parameters_router
from licheng.course_outcomes.roster.events import roster_consumer
from licheng.course_outcomes.settings import Settings
from licheng.course_outcomes.status.router import router as status_router
from licheng.kit.object_sweep import ObjectReference
from licheng.kit.service import ServiceDefinition, create_service_app

# An outcome's current files; a replaced or deleted one is swept after the grace.
OBJECT_REFERENCES = (ObjectReference(OutcomeFile.object_key),)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the course-outcomes service."""
    return create_service_app(
        ServiceDefinition(
            name="course_outcomes",
            title="Licheng course outcomes: 修課紀錄, outcomes, certification, selection",
            settings=settings or Settings(),
            idempotency=True,
            event_stream="course_outcomes",
            # The streams we consume are ensured too, so our consumers attach in any start order.
            streams=("identity", "exports"),
            routers=[
                parameters_router,
                courses_router,
                outcomes_router,
                staff_outcomes_router,
                certification_router,
                delegations_router,
                locks_router,
                status_router,
                audit_router,
            ],
            consumers=[roster_consumer(), lock_consumer()],
            object_references=OBJECT_REFERENCES,
        )
    )
