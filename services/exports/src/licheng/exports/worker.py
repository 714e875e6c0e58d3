"""The exports worker: a separate process taking export jobs off the `EXPORT_JOBS` work queue.

It scales apart from the API during export windows. Each job type registers its handler in
`JOB_HANDLERS`; a job nobody knows how to run is dead-lettered, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import STREAMS, EventEnvelope
from licheng.exports.settings import Settings
from licheng.kit.inbox import ConsumerSpec, PoisonMessage
from licheng.kit.service import ServiceDefinition, create_service_app

JobHandler = Callable[[AsyncSession, EventEnvelope], Awaitable[None]]

# Filled by the export job types (roster workbooks, attachment ZIPs, pre-check reports).
JOB_HANDLERS: dict[str, JobHandler] = {}

WORKER_DURABLE = "exports-worker"


async def run_export_job(session: AsyncSession, envelope: EventEnvelope) -> None:
    """Run one export job with the handler registered for its type."""
    handler = JOB_HANDLERS.get(envelope.type)
    if handler is None:
        raise PoisonMessage(f"no handler for export job type {envelope.type}")
    await handler(session, envelope)


def create_worker_app(settings: Settings | None = None) -> FastAPI:
    """Build the worker process (health and metrics over HTTP, jobs over NATS)."""
    return create_service_app(
        ServiceDefinition(
            name="exports_worker",
            title="Licheng exports worker",
            settings=settings or Settings(),
            event_stream="exports",
            streams=("export_jobs",),
            consumers=[
                ConsumerSpec(
                    durable=WORKER_DURABLE,
                    stream=STREAMS["export_jobs"].name,
                    filter_subjects=STREAMS["export_jobs"].subjects,
                    handler=run_export_job,
                    ack_wait_seconds=300.0,
                )
            ],
        )
    )
