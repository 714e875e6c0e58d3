"""The performances service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from licheng.kit.object_sweep import ObjectReference
from licheng.kit.roster import roster_consumer
from licheng.kit.service import ServiceDefinition, create_service_app
from licheng.performances.audit import router as audit_router
from licheng.performances.cadres.router import router as cadres_router
from licheng.performances.certificates.router import router as certificates_router
from licheng.performances.imports.router import router as imports_router
from licheng.performances.locks.events import lock_consumer
from licheng.performances.locks.router import router as locks_router
from licheng.performances.models import PerformanceFile
from licheng.performances.parameters.router import router as parameters_router
from licheng.performances.records.router import router as records_router
from licheng.performances.settings import Settings
from licheng.performances.status.router import router as status_router

ROSTER_DURABLE = "performances-roster"
# A record's current proof files; a replaced or deleted one is swept after the grace.
OBJECT_REFERENCES = (ObjectReference(PerformanceFile.object_key),)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the performances service."""
    return create_service_app(
        ServiceDefinition(
            name="performances",
            title="Licheng performances: 多元表現, cadre records, certificates, selection",
            settings=settings or Settings(),
            idempotency=True,
            event_stream="performances",
            # The streams we consume are ensured too, so our consumers attach in any start order.
            streams=("identity", "exports"),
            routers=[
                parameters_router,
                locks_router,
                audit_router,
                certificates_router,
                imports_router,
                cadres_router,
                records_router,
                status_router,
            ],
            consumers=[roster_consumer(durable=ROSTER_DURABLE), lock_consumer()],
            object_references=OBJECT_REFERENCES,
        )
    )
