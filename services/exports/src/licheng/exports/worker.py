"""The exports worker: a separate process taking export jobs off the `EXPORT_JOBS` work queue.

It scales apart from the API during export windows. Each job type registers its handler in
`JOB_HANDLERS`; a job nobody knows how to run is dead-lettered, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import STREAMS, Event, EventPayload
from licheng.exports.settings import Settings
from licheng.kit.inbox import ConsumerSpec
from licheng.kit.service import ServiceDefinition, create_service_app

JobHandler = Callable[[AsyncSession, Event[Any]], Awaitable[None]]

# Filled by the export job types (roster workbooks, attachment ZIPs, pre-check reports): each
# job type is a payload model in licheng.contracts. A job of a type with no handler here is
# poison (dead-lettered at once), never silently dropped.
JOB_HANDLERS: dict[type[EventPayload], JobHandler] = {}

WORKER_DURABLE = "exports-worker"


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
                    handlers=JOB_HANDLERS,
                    ack_wait_seconds=300.0,
                )
            ],
        )
    )
