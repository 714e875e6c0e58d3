"""The common shape of a Licheng service: app factory, lifespan and readiness.

A service describes itself with a `ServiceDefinition`; `create_service_app` wires the engine,
session factory, NatsClient/JetStream, object storage, token verifier, outbox relay and consumers
into the app's lifespan, plus errors, logging, metrics, `/healthz` and `/readyz`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from fastapi import APIRouter, FastAPI
from nats.aio.client import Client as NatsClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from licheng.kit.auth import TokenVerifier
from licheng.kit.body_limit import BodyLimitMiddleware
from licheng.kit.db import create_engine, create_session_factory
from licheng.kit.errors import install_error_handlers
from licheng.kit.events import connect_nats, ensure_streams
from licheng.kit.health import ReadinessCheck, health_router
from licheng.kit.idempotency import IdempotencyMiddleware
from licheng.kit.inbox import ConsumerRunner, ConsumerSpec
from licheng.kit.logging import RequestContextMiddleware, configure_logging
from licheng.kit.metrics import metrics_router
from licheng.kit.object_sweep import ObjectLedger, ObjectReference, ObjectSweeper
from licheng.kit.outbox import OutboxRelay
from licheng.kit.security_headers import SecurityHeadersMiddleware
from licheng.kit.settings import ServiceSettings
from licheng.kit.storage import ObjectStorage, keep_multipart_spools_small

log = structlog.get_logger("licheng.service")

StopHook = Callable[[], Awaitable[None]]
StartupHook = Callable[[FastAPI], Awaitable[StopHook | None]]
"""Runs once everything is wired; may answer how to stop what it started (run at shutdown)."""


@dataclass
class ServiceDefinition:
    """What makes one service: its name, settings, routers and the events it consumes."""

    name: str  # log and metrics name, e.g. "course_outcomes" or "exports_worker"
    title: str
    settings: ServiceSettings
    event_stream: str | None  # the stream key of the events it produces (contracts STREAMS)
    routers: Sequence[APIRouter] = ()
    consumers: Sequence[ConsumerSpec] = ()
    streams: Sequence[str] = ()  # further streams this service needs to exist
    idempotency: bool = False  # keep and replay answers to writes with an Idempotency-Key
    version: str = "0.1.0"
    description: str = ""
    on_startup: Sequence[StartupHook] = field(default_factory=tuple)
    # The columns whose keys keep this service's objects. Given, every key the service puts is
    # recorded in its `object_ledger` first, and a sweeper removes what nothing references.
    object_references: Sequence[ObjectReference] = ()


def database_check(engine: AsyncEngine) -> ReadinessCheck:
    """Readiness: the database answers `SELECT 1`."""

    async def check() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return check


def nats_check(nc: NatsClient) -> ReadinessCheck:
    """Readiness: NatsClient is connected and answers a round trip."""

    async def check() -> None:
        if not nc.is_connected:
            raise ConnectionError("NatsClient is not connected")
        await nc.flush(timeout=1)

    return check


def storage_check(storage: ObjectStorage, bucket: str) -> ReadinessCheck:
    """Readiness: the object store answers for our bucket."""

    async def check() -> None:
        await storage.ping(bucket)

    return check


def _readiness_checks(app: FastAPI) -> Mapping[str, ReadinessCheck]:
    checks: Mapping[str, ReadinessCheck] = getattr(app.state, "readiness_checks", {})
    if not checks:

        async def starting() -> None:
            raise RuntimeError("starting")

        return {"startup": starting}
    return checks


@asynccontextmanager
async def _runtime(app: FastAPI, definition: ServiceDefinition) -> AsyncIterator[None]:
    settings = definition.settings
    async with AsyncExitStack() as stack:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_timeout=settings.database_pool_timeout_seconds,
        )
        stack.push_async_callback(engine.dispose)
        session_factory = create_session_factory(engine)
        nc = await connect_nats(
            settings.nats_url, name=definition.name, timeout=settings.startup_timeout_seconds
        )
        stack.push_async_callback(nc.close)
        js = nc.jetstream()
        own = (definition.event_stream,) if definition.event_stream else ()
        await ensure_streams(js, *own, *definition.streams, replicas=settings.nats_stream_replicas)
        storage = ObjectStorage(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
        await _retry(
            lambda: storage.ensure_buckets([settings.uploads_bucket, settings.exports_bucket]),
            timeout=settings.startup_timeout_seconds,
            what="object storage",
        )
        app.state.settings = settings
        app.state.engine = engine
        app.state.session_factory = session_factory
        app.state.nats = nc
        app.state.jetstream = js
        app.state.storage = storage
        if definition.object_references:
            storage.ledger = ObjectLedger(session_factory)
            sweeper = ObjectSweeper(
                service=definition.name,
                session_factory=session_factory,
                storage=storage,
                references=definition.object_references,
                grace=timedelta(hours=settings.object_sweep_grace_hours),
                interval=settings.object_sweep_interval_seconds,
            )
            sweeper.start()
            stack.push_async_callback(sweeper.stop)
            app.state.object_sweeper = sweeper
        app.state.token_verifier = TokenVerifier(
            jwks_url=settings.jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        if definition.event_stream:
            relay = OutboxRelay(
                service=definition.name,
                session_factory=session_factory,
                jetstream=js,
                poll_seconds=settings.outbox_poll_seconds,
                retention=timedelta(hours=settings.outbox_retention_hours),
                prune_interval=settings.outbox_prune_interval_seconds,
            )
            relay.start()
            stack.push_async_callback(relay.stop)
            app.state.outbox_relay = relay
        runners = []
        for spec in definition.consumers:
            runner = ConsumerRunner(spec=spec, session_factory=session_factory, jetstream=js)
            await runner.ensure_consumer()
            runner.start()
            stack.push_async_callback(runner.stop)
            runners.append(runner)
        app.state.consumers = runners
        for hook in definition.on_startup:
            stop = await hook(app)
            if stop is not None:
                stack.push_async_callback(stop)
        app.state.readiness_checks = {
            "database": database_check(engine),
            "nats": nats_check(nc),
            "storage": storage_check(storage, settings.uploads_bucket),
        }
        log.info("service.started", service=definition.name)
        yield
        log.info("service.stopping", service=definition.name)


async def _retry(action: Callable[[], Awaitable[None]], *, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            await action()
            return
        except Exception as exc:
            if loop.time() >= deadline:
                raise
            log.info("service.waiting", dependency=what, error=type(exc).__name__)
            await asyncio.sleep(0.5)


def create_service_app(definition: ServiceDefinition) -> FastAPI:
    """A FastAPI app with the suite's lifespan, middleware, errors and health endpoints."""
    settings = definition.settings
    configure_logging(service=definition.name, level=settings.log_level, json=settings.log_json)
    keep_multipart_spools_small()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with _runtime(app, definition):
            yield

    app = FastAPI(
        title=definition.title,
        version=definition.version,
        description=definition.description,
        lifespan=lifespan,
    )
    app.state.definition = definition
    install_error_handlers(app)
    if definition.idempotency:
        app.add_middleware(
            IdempotencyMiddleware,
            state=app.state,
            pending_takeover_seconds=settings.idempotency_takeover_seconds,
        )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware, service=definition.name)  # outermost
    app.include_router(health_router(definition.name, lambda: _readiness_checks(app)))
    app.include_router(metrics_router())
    for router in definition.routers:
        app.include_router(router)
    return app
