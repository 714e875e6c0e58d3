"""Course-outcomes test fixtures: a migrated database and the running service."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from nats.aio.client import Client as NatsClient

from licheng.contracts.events import EventPayload, PersonUpserted
from licheng.course_outcomes.app import create_app
from licheng.course_outcomes.cli import MIGRATIONS_DIR
from licheng.course_outcomes.settings import Settings
from licheng.kit.events import ensure_streams
from licheng.testing.apps import running, service_settings
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra


@dataclass
class CourseApi:
    client: httpx.AsyncClient
    app: FastAPI
    issuer: TestIssuer
    nats: NatsClient
    school: str

    def as_roles(self, *roles: str, person_id: uuid.UUID | None = None) -> dict[str, str]:
        """Headers of someone holding `roles` in the school."""
        groups = [f"/schools/{self.school}/{r}" for r in roles]
        return self.issuer.headers(person_id=person_id, groups=groups)

    async def announce_person(
        self, *, kind: str, local_no: str, name: str, class_code: str | None = None
    ) -> uuid.UUID:
        """Publish identity's person.upserted, as identity would."""
        person_id = uuid.uuid4()
        await self.publish(
            PersonUpserted(
                person_id=person_id,
                kind="student" if kind == "student" else "staff",
                local_no=local_no,
                name=name,
                username=f"{self.school}-{local_no}".lower(),
                class_code=class_code,
                status="在籍" if kind == "student" else None,
            )
        )
        return person_id

    async def publish(self, payload: EventPayload) -> None:
        """Publish another service's event on NATS, as that service's relay would."""
        envelope = payload.envelope(school_code=self.school, actor_id=None)
        await self.nats.jetstream().publish(envelope.subject, envelope.model_dump_json().encode())

    async def eventually(self, check: Callable[[], Awaitable[bool]], what: str) -> None:
        """Wait (up to 15 s) until `check` holds."""
        deadline = time.monotonic() + 15
        while not await check():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await asyncio.sleep(0.1)


@pytest.fixture
async def course_api(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    issuer: TestIssuer,
    nats_client: NatsClient,
) -> AsyncIterator[CourseApi]:
    url = await migrated_database(MIGRATIONS_DIR, "course_outcomes")
    await ensure_streams(nats_client.jetstream(), "identity")
    settings = service_settings(
        Settings, infra=infra, database_url=url, jwks_url=issuer.jwks_url, issuer=issuer.issuer
    )
    app = create_app(settings)
    async with running(app) as client:
        yield CourseApi(
            client=client,
            app=app,
            issuer=issuer,
            nats=nats_client,
            school=f"{random.randrange(10**6):06d}",
        )
