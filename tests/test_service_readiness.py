"""Each service migrates, starts on real infrastructure, and its `/readyz` follows its
database and NATS: red while either is unreachable, green again when it returns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from licheng.course_outcomes.app import create_app as course_outcomes_app
from licheng.course_outcomes.settings import Settings as CourseOutcomesSettings
from licheng.exports.app import create_app as exports_app
from licheng.exports.settings import Settings as ExportsSettings
from licheng.exports.worker import create_worker_app
from licheng.guidance.app import create_app as guidance_app
from licheng.guidance.settings import Settings as GuidanceSettings
from licheng.identity.app import create_app as identity_app
from licheng.identity.settings import Settings as IdentitySettings
from licheng.kit.settings import ServiceSettings
from licheng.performances.app import create_app as performances_app
from licheng.performances.settings import Settings as PerformancesSettings
from licheng.testing.apps import running, service_settings
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.servers import TcpProxy

SERVICES_DIR = Path(__file__).resolve().parents[1] / "services"


@dataclass(frozen=True)
class ServiceCase:
    name: str
    settings_class: type[ServiceSettings]
    factory: Callable[..., FastAPI]
    migrations: Path


def _migrations(folder: str, module: str) -> Path:
    return SERVICES_DIR / folder / "src" / "licheng" / module / "migrations"


CASES = [
    ServiceCase("identity", IdentitySettings, identity_app, _migrations("identity", "identity")),
    ServiceCase(
        "course_outcomes",
        CourseOutcomesSettings,
        course_outcomes_app,
        _migrations("course-outcomes", "course_outcomes"),
    ),
    ServiceCase(
        "performances",
        PerformancesSettings,
        performances_app,
        _migrations("performances", "performances"),
    ),
    ServiceCase("guidance", GuidanceSettings, guidance_app, _migrations("guidance", "guidance")),
    ServiceCase("exports", ExportsSettings, exports_app, _migrations("exports", "exports")),
    ServiceCase(
        "exports_worker", ExportsSettings, create_worker_app, _migrations("exports", "exports")
    ),
]


async def _wait_for_status(
    client: httpx.AsyncClient, status: int, *, timeout: float = 20.0
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get("/readyz")
        if response.status_code == status or time.monotonic() > deadline:
            assert response.status_code == status, response.text
            body: dict[str, object] = response.json()
            return body
        await asyncio.sleep(0.2)


@pytest.mark.postgresql_only(
    reason="takes the database away by cutting its TCP connection; an embedded SQLite file "
    "has no connection to cut"
)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_readyz_follows_database_and_nats(
    case: ServiceCase,
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    issuer: TestIssuer,
) -> None:
    database_url = await migrated_database(case.migrations, case.name)
    db_proxy = TcpProxy(infra.pg_host, infra.pg_port)
    nats_address = urlsplit(infra.nats_url)
    nats_proxy = TcpProxy(nats_address.hostname or "127.0.0.1", nats_address.port or 4222)
    await db_proxy.start()
    await nats_proxy.start()
    proxied_db = make_url(database_url).set(host="127.0.0.1", port=db_proxy.port)
    settings = service_settings(
        case.settings_class,
        infra=infra,
        database_url=proxied_db.render_as_string(hide_password=False),
        nats_url=f"nats://127.0.0.1:{nats_proxy.port}",
        jwks_url=issuer.jwks_url,
        issuer=issuer.issuer,
    )
    app = case.factory(settings)
    try:
        async with running(app) as client:
            assert (await client.get("/healthz")).json()["status"] == "ok"
            ready = await _wait_for_status(client, 200)
            assert ready["checks"] == {"database": "ok", "nats": "ok", "storage": "ok"}

            await db_proxy.cut()
            down = await _wait_for_status(client, 503)
            assert down["checks"]["database"] != "ok"  # type: ignore[index]
            assert down["checks"]["nats"] == "ok"  # type: ignore[index]
            assert (await client.get("/healthz")).status_code == 200
            await db_proxy.start()
            await _wait_for_status(client, 200)

            await nats_proxy.cut()
            down = await _wait_for_status(client, 503)
            assert down["checks"]["nats"] != "ok"  # type: ignore[index]
            await nats_proxy.start()
            await _wait_for_status(client, 200)

            metrics = await client.get("/metrics")
            assert "licheng_http_requests_total" in metrics.text
            openapi = await client.get("/openapi.json")
            assert openapi.status_code == 200
    finally:
        await db_proxy.cut()
        await nats_proxy.cut()
