"""A service under test: its app running in-process on a migrated database, with the test token
issuer, NATS, and a fresh school code; the service's conftest subclasses `ServiceApi`."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import httpx
from fastapi import FastAPI
from nats.aio.client import Client as NatsClient
from sqlmodel import SQLModel, select

from licheng.contracts.events import EventPayload
from licheng.testing.apps import SettingsT, running, service_settings
from licheng.testing.fixtures import TestIssuer
from licheng.testing.infra import TestInfra


@dataclass
class ServiceApi:
    """The running service's client and app, the issuer, NATS and the school the test uses."""

    # The service's name in its API paths (`/api/<service_path>/v1/schools/<school>`).
    service_path: ClassVar[str] = ""

    client: httpx.AsyncClient
    app: FastAPI
    issuer: TestIssuer
    nats: NatsClient
    school: str

    @property
    def base(self) -> str:
        """The school's API prefix."""
        return f"/api/{self.service_path}/v1/schools/{self.school}"

    def as_roles(self, *roles: str, person_id: uuid.UUID | None = None) -> dict[str, str]:
        """Headers of a person (a new one unless given) holding `roles` in the school."""
        groups = [f"/schools/{self.school}/{r}" for r in roles]
        return self.issuer.headers(person_id=person_id or uuid.uuid4(), groups=groups)

    async def count(self, model: type[SQLModel]) -> int:
        """How many rows of `model` are stored."""
        async with self.app.state.session_factory() as session:
            return len((await session.exec(select(model))).all())

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


ApiT = TypeVar("ApiT", bound=ServiceApi)


@asynccontextmanager
async def running_service(
    api_class: type[ApiT],
    create_app: Callable[[SettingsT], FastAPI],
    settings_class: type[SettingsT],
    *,
    database_url: str,
    infra: TestInfra,
    issuer: TestIssuer,
    nats_client: NatsClient,
    **overrides: Any,
) -> AsyncIterator[ApiT]:
    """The service's app on `database_url` (already migrated), running, for a random school;
    `overrides` are further settings."""
    settings = service_settings(
        settings_class,
        infra=infra,
        database_url=database_url,
        jwks_url=issuer.jwks_url,
        issuer=issuer.issuer,
        **overrides,
    )
    app = create_app(settings)
    async with running(app) as client:
        yield api_class(
            client=client,
            app=app,
            issuer=issuer,
            nats=nats_client,
            school=f"{random.randrange(10**6):06d}",  # noqa: S311 - a test school code
        )
