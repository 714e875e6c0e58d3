"""Pytest fixtures shared by every test directory (registered by the root conftest)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError

from licheng.kit.storage import ObjectStorage
from licheng.kit.testing.databases import create_database, drop_database
from licheng.kit.testing.infra import TestInfra, load_infra
from licheng.kit.testing.servers import JsonHttpServer, NatsServerProcess
from licheng.kit.tokens import RsaSigner

TEST_AUDIENCE = "licheng"
TEST_ISSUER = "https://issuer.test.licheng/realms/licheng"


@pytest.fixture(scope="session")
def infra() -> TestInfra:
    """The provisioned PostgreSQL, NATS, SeaweedFS and Keycloak."""
    return load_infra()


DatabaseFactory = Callable[[str], Awaitable[str]]


@pytest.fixture(scope="session")
async def make_database(infra: TestInfra) -> AsyncIterator[DatabaseFactory]:
    """Create fresh PostgreSQL databases; returns their SQLAlchemy URLs; drops them after."""
    created: list[str] = []

    async def factory(prefix: str) -> str:
        name = await create_database(infra, prefix)
        created.append(name)
        return infra.pg_url(name)

    yield factory
    for name in created:
        await drop_database(infra, name)


@pytest.fixture
async def nats_client(infra: TestInfra) -> AsyncIterator[NatsClient]:
    """A client of the shared NATS whose JetStream starts empty for this test."""
    client = await nats.connect(infra.nats_url)
    js = client.jetstream()
    try:
        for name in await js.streams_info():
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(name.config.name or "")
        yield client
    finally:
        await client.close()


@pytest.fixture
def private_nats(infra: TestInfra, tmp_path: Path) -> Iterator[NatsServerProcess]:
    """A nats-server of this test's own, to stop and restart at will."""
    server = NatsServerProcess(infra.nats_server_bin, tmp_path / "jetstream")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def storage(infra: TestInfra) -> ObjectStorage:
    """The shared SeaweedFS S3 server."""
    return ObjectStorage(
        endpoint=infra.s3_endpoint,
        access_key=infra.s3_access_key,
        secret_key=infra.s3_secret_key,
    )


@pytest.fixture
async def bucket(storage: ObjectStorage) -> str:
    """A fresh, empty bucket for this test."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    await storage.ensure_buckets([name])
    return name


class TestIssuer:
    """Signs tokens like Keycloak does and serves its JWKS over HTTP."""

    __test__ = False

    def __init__(self) -> None:
        self.signer = RsaSigner()
        self.issuer = TEST_ISSUER
        self.audience = TEST_AUDIENCE
        self._server = JsonHttpServer(self.signer.jwks())
        self.jwks_url = self._server.url

    def token(
        self,
        *,
        groups: list[str] | None = None,
        person_id: uuid.UUID | None = None,
        lifetime_seconds: int = 300,
        **claims: object,
    ) -> str:
        """A valid token for a person holding `groups`."""
        pid = person_id or uuid.uuid4()
        return self.signer.mint(
            {
                "iss": self.issuer,
                "aud": [self.audience],
                "sub": str(uuid.uuid4()),
                "pid": str(pid),
                "preferred_username": f"user-{pid.hex[:6]}",
                "name": "測試使用者",
                "groups": groups or [],
                **claims,
            },
            lifetime_seconds=lifetime_seconds,
        )

    def headers(self, **kwargs: object) -> dict[str, str]:
        """An Authorization header carrying `token(**kwargs)`."""
        return {"authorization": f"Bearer {self.token(**kwargs)}"}  # type: ignore[arg-type]

    def close(self) -> None:
        """Stop serving the JWKS."""
        self._server.close()


@pytest.fixture(scope="session")
def issuer() -> Iterator[TestIssuer]:
    """A token issuer of the suite's own (Keycloak's tokens are tested separately)."""
    test_issuer = TestIssuer()
    yield test_issuer
    test_issuer.close()


@pytest.fixture
async def keycloak_http(infra: TestInfra) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the real Keycloak."""
    async with httpx.AsyncClient(base_url=infra.keycloak_url, timeout=30.0) as client:
        yield client
