"""NatsClient connection and JetStream stream set-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats
import structlog
from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, ServiceUnavailableError

from licheng.contracts.events import STREAMS, StreamSpec

log = structlog.get_logger("licheng.events")

DUPLICATE_WINDOW_SECONDS = 600.0


async def _connection_error(exc: Exception) -> None:
    # An outage is expected operational weather (the client reconnects forever), not a crash:
    # a warning, without nats-py's default error-level traceback on every attempt.
    log.warning("nats.connection_error", error=type(exc).__name__)


async def _disconnected() -> None:
    log.warning("nats.disconnected")


async def _reconnected() -> None:
    log.info("nats.reconnected")


async def connect_nats(
    url: str, *, name: str, timeout: float = 30.0, reconnect_time_wait: float = 0.5
) -> NatsClient:
    """Connect to NATS, retrying the first connection for up to `timeout` seconds.

    `url` may list several servers of a cluster, comma-separated; the client also learns the
    cluster's other servers from the one it reaches, and reconnects to any of them.
    """
    servers = [server.strip() for server in url.split(",") if server.strip()]
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await nats.connect(
                servers,
                name=name,
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=reconnect_time_wait,
                error_cb=_connection_error,
                disconnected_cb=_disconnected,
                reconnected_cb=_reconnected,
            )
        except Exception as exc:
            if time.monotonic() >= deadline:
                raise
            log.info("nats.waiting", url=url, error=type(exc).__name__)
            await asyncio.sleep(0.5)


def _stream_config(spec: StreamSpec, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.WORK_QUEUE if spec.work_queue else RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_SECONDS,
        num_replicas=replicas,
    )


# A JetStream cluster that just lost a server elects new leaders for a few seconds; its API
# answers nothing (a timeout) or "no responders" meanwhile. Starting services wait that out.
T = TypeVar("T")
_CLUSTER_SETTLING = (NatsTimeoutError, NoRespondersError, ServiceUnavailableError)


async def until_jetstream_answers(
    call: Callable[[], Awaitable[T]], *, what: str, timeout: float = 60.0
) -> T:
    """`call()`, asked again while the JetStream API does not answer (a cluster electing
    leaders, or a server too busy to answer within the client's request timeout) for up to
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await call()
        except _CLUSTER_SETTLING as exc:
            if time.monotonic() >= deadline:
                raise
            log.info("nats.api_waiting", what=what, error=type(exc).__name__)
            await asyncio.sleep(1.0)


async def ensure_stream(
    js: JetStreamContext, spec: StreamSpec, *, replicas: int = 1, timeout: float = 60.0
) -> None:
    """Create the stream, or bring an existing one to this configuration (waiting out an
    unanswering JetStream API for up to `timeout` seconds)."""
    config = _stream_config(spec, replicas)

    async def create_or_update() -> None:
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)

    await until_jetstream_answers(create_or_update, what=f"stream {spec.name}", timeout=timeout)


async def ensure_streams(js: JetStreamContext, *services: str, replicas: int = 1) -> None:
    """Ensure the streams of `services` plus the dead-letter stream exist.

    `replicas` is how many servers of a JetStream cluster keep each stream (3 in a district's
    cluster, 1 on a single nats-server).
    """
    for key in (*services, "dead_letters"):
        await ensure_stream(js, STREAMS[key], replicas=replicas)
