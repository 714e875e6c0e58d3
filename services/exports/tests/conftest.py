"""Exports test fixtures: the exports service running on a migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient

from licheng.exports.app import create_app
from licheng.exports.cli import MIGRATIONS_DIR
from licheng.exports.settings import Settings
from licheng.kit.events import ensure_streams
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.services import ServiceApi, running_service


class ExportsApi(ServiceApi):
    service_path = "exports"


@pytest.fixture
async def exports_api(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    issuer: TestIssuer,
    nats_client: NatsClient,
) -> AsyncIterator[ExportsApi]:
    """The exports API (no worker: jobs stay queued), owners answering within 1.5 s."""
    url = await migrated_database(MIGRATIONS_DIR, "exports")
    await ensure_streams(nats_client.jetstream(), "identity", "course_outcomes", "performances")
    async with running_service(
        ExportsApi,
        create_app,
        Settings,
        database_url=url,
        infra=infra,
        issuer=issuer,
        nats_client=nats_client,
        lock_timeout_seconds=1.5,
        sweep_interval_seconds=0.2,
    ) as api:
        yield api
