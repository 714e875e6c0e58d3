"""Run a service app in-process (lifespan included) behind an ASGI httpx client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import uvicorn
from fastapi import FastAPI

from licheng.kit.settings import ServiceSettings
from licheng.testing.infra import TestInfra
from licheng.testing.servers import free_port

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def service_settings(
    settings_class: type[SettingsT],
    *,
    infra: TestInfra,
    database_url: str,
    jwks_url: str,
    issuer: str,
    nats_url: str | None = None,
    **overrides: Any,
) -> SettingsT:
    """Settings pointing a service at the test infrastructure."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "nats_url": nats_url or infra.nats_url,
        "s3_endpoint": infra.s3_endpoint,
        "s3_access_key": infra.s3_access_key,
        "s3_secret_key": infra.s3_secret_key,
        "jwks_url": jwks_url,
        "jwt_issuer": issuer,
        "jwt_audience": "licheng",
        "startup_timeout_seconds": 10.0,
        "outbox_poll_seconds": 0.05,
        **overrides,
    }
    return settings_class(**values)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan and yield a client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@asynccontextmanager
async def serving(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """Serve the app over real HTTP on a loopback port (free, or chosen beforehand so the app's
    settings can name it); yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        # Idle connections kept as long as the deployed services keep them (kit settings'
        # keep_alive_seconds), not uvicorn's 5 s: a client coming back after a slow step (a
        # Keycloak login under load) must not reuse a connection the server is just closing.
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            timeout_keep_alive=75,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # surfaces the start-up error
                raise RuntimeError("the server stopped during start-up")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
