"""Pytest fixtures shared by every test directory (registered by the root conftest).

Database tests run on both engines: any test that (through its fixtures) uses `db_engine` is
generated once for PostgreSQL and once for SQLite, with the engine in its id
(`test_x[postgresql]`, `test_x[sqlite]`). `--engine sqlite` (repeatable) narrows the run. A test
that cannot run on SQLite says so with `@pytest.mark.postgresql_only(reason=…)`; it is then
generated for PostgreSQL only and listed with its reason at the end of the run.

Browser tests get `browser` (Debian's Chromium, one per test process), `open_page` (a page in a
context of its own, desktop or phone) and `screenshot_dir`; see `licheng.testing.browser`.

Every test fails when a process logged an error-level event during it (an unhandled
exception, a 500) unless the test names that event in `@pytest.mark.expected_errors(…)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError
from playwright.async_api import Browser, Page

from licheng.kit.logging import configure_logging, watch_errors
from licheng.kit.migrations import upgrade_to_head_async
from licheng.kit.storage import ObjectStorage
from licheng.kit.tokens import RsaSigner
from licheng.testing.browser import PageOpener, chromium_browser, new_page
from licheng.testing.databases import create_database, drop_database
from licheng.testing.infra import TestInfra, load_infra
from licheng.testing.servers import JsonHttpServer, NatsServerProcess

TEST_AUDIENCE = "licheng"
TEST_ISSUER = "https://issuer.test.licheng/realms/licheng"
ENGINES = ("postgresql", "sqlite")

_postgresql_only: dict[str, str] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        action="append",
        choices=ENGINES,
        help="run the database tests on this engine only (repeatable; default: both)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # The test PostgreSQL listens on loopback without TLS. asyncpg's default (`prefer`) opens
    # every connection with a TLS request first; a connect cancelled during that exchange (a
    # pool or connect timeout on a loaded machine) leaves a future nobody reads, which asyncio
    # then logs as an error. Service processes the tests start inherit the setting.
    os.environ.setdefault("PGSSLMODE", "disable")
    # Log as the services do from the first test on, so the error watch sees every event.
    configure_logging(service="tests", level="INFO", json=True)
    config.addinivalue_line(
        "markers",
        "postgresql_only(reason): runs on PostgreSQL only; the reason says why SQLite cannot",
    )
    config.addinivalue_line(
        "markers",
        "expected_errors(*events): error-level log events this test provokes on purpose",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_engine" not in metafunc.fixturenames:
        return
    engines = tuple(metafunc.config.getoption("engine") or ENGINES)
    marker = metafunc.definition.get_closest_marker("postgresql_only")
    if marker is not None:
        reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
        if not reason:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: postgresql_only needs a reason")
        _postgresql_only[metafunc.definition.nodeid] = str(reason)
        engines = tuple(e for e in engines if e == "postgresql")
    metafunc.parametrize("db_engine", engines, indirect=True, scope="session")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _postgresql_only:
        terminalreporter.section("run on PostgreSQL only (not generated for SQLite)")
        for nodeid, reason in sorted(_postgresql_only.items()):
            terminalreporter.line(f"{nodeid}: {reason}")


@pytest.fixture(scope="session")
def db_engine(request: pytest.FixtureRequest) -> str:
    """The database engine this test runs on: `postgresql` or `sqlite`."""
    engine: str = request.param
    return engine


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServerProcess]:
    """A nats-server (JetStream) of this test process's own, so parallel runs never collide."""
    server = NatsServerProcess(load_infra().nats_server_bin, tmp_path_factory.mktemp("nats"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def infra(nats_server: NatsServerProcess) -> TestInfra:
    """The provisioned PostgreSQL, SeaweedFS and Keycloak, and this process's NATS."""
    return dataclasses.replace(load_infra(), nats_url=nats_server.url)


DatabaseFactory = Callable[[str], Awaitable[str]]
MigratedDatabaseFactory = Callable[[Path, str], Awaitable[str]]


@pytest.fixture(scope="session")
async def make_database(
    infra: TestInfra, db_engine: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DatabaseFactory]:
    """Create fresh, empty databases on this test's engine; returns their SQLAlchemy URLs."""
    created: list[str] = []
    folder = tmp_path_factory.mktemp("sqlite")

    async def factory(prefix: str) -> str:
        if db_engine == "sqlite":
            return f"sqlite+aiosqlite:///{folder / f'{prefix}_{uuid.uuid4().hex[:10]}.db'}"
        name = await create_database(infra, prefix)
        created.append(name)
        return infra.pg_url(name)

    yield factory
    for name in created:
        await drop_database(infra, name)


@pytest.fixture(scope="session")
async def migrated_database(
    infra: TestInfra,
    db_engine: str,
    make_database: DatabaseFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[MigratedDatabaseFactory]:
    """A fresh database at a service's newest migration, cloned from one migrated template."""
    templates: dict[Path, str] = {}
    created: list[str] = []
    folder = tmp_path_factory.mktemp("sqlite-clones")

    async def factory(migrations_dir: Path, prefix: str) -> str:
        template = templates.get(migrations_dir)
        if template is None:
            template = await make_database(f"tpl_{prefix}")
            await upgrade_to_head_async(migrations_dir=migrations_dir, database_url=template)
            templates[migrations_dir] = template
        if db_engine == "sqlite":
            source = Path(template.split("///", 1)[1])
            target = folder / f"{prefix}_{uuid.uuid4().hex[:10]}.db"
            shutil.copyfile(source, target)
            return f"sqlite+aiosqlite:///{target}"
        name = await create_database(infra, prefix, template=template.rsplit("/", 1)[1])
        created.append(name)
        return infra.pg_url(name)

    yield factory
    for name in created:
        await drop_database(infra, name)


@pytest.fixture
async def nats_client(infra: TestInfra) -> AsyncIterator[NatsClient]:
    """A client of this process's NATS, whose JetStream starts empty for this test."""
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
async def bucket(storage: ObjectStorage) -> AsyncIterator[str]:
    """A fresh, empty bucket for this test, removed with its objects afterwards (SeaweedFS
    gives every bucket its own volumes: left behind, they fill the test server)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    await storage.ensure_buckets([name])
    yield name

    def remove() -> None:
        client = storage.client
        for item in client.list_objects(name, recursive=True):
            if item.object_name is not None:
                client.remove_object(name, item.object_name)
        client.remove_bucket(name)

    await asyncio.to_thread(remove)


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


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, one per test process (`licheng.testing.browser`)."""
    async with chromium_browser() as launched:
        yield launched


@pytest.fixture
async def open_page(browser: Browser) -> AsyncIterator[PageOpener]:
    """`await open_page(url, phone=False)`: a page in a context of its own, at `url` (when given)
    at desktop or phone size; every context opened is closed after the test."""
    pages: list[Page] = []

    async def opener(url: str | None = None, *, phone: bool = False) -> Page:
        page = await new_page(browser, phone=phone)
        pages.append(page)
        if url is not None:
            await page.goto(url)
        return page

    yield opener
    for page in pages:
        await page.context.close()


@pytest.fixture
def screenshot_dir(request: pytest.FixtureRequest) -> Path:
    """`var/test-output/screenshots/<test id>/` (gitignored), emptied when the test starts."""
    name = re.sub(r"[^\w.\-\[\]]+", "_", request.node.nodeid).strip("_")
    folder = request.config.rootpath / "var" / "test-output" / "screenshots" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


class _StdlibErrors(logging.Handler):
    """Collects error-level records of stdlib loggers (asyncio, uvicorn, libraries)."""

    licheng_keep = True

    def __init__(self, sink: Callable[[Mapping[str, Any]], None]) -> None:
        super().__init__(level=logging.ERROR)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self._sink({"event": record.getMessage(), "logger": record.name, "level": "error"})


@pytest.fixture(autouse=True)
def fail_on_logged_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test when anything logged an error it did not expect (a 500, a crash)."""
    marker = request.node.get_closest_marker("expected_errors")
    expected = tuple(str(e) for e in marker.args) if marker else ()
    unexpected: list[str] = []

    def sink(event: Mapping[str, Any]) -> None:
        name = str(event.get("event", ""))
        if not any(name == e or name.startswith(e) for e in expected):
            detail = event.get("exc_type") or event.get("error") or event.get("exception", "")
            unexpected.append(f"{event.get('service', event.get('logger', '?'))}: {name} {detail}")

    stop = watch_errors(sink)
    handler = _StdlibErrors(sink)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        stop()
        root.removeHandler(handler)
    if unexpected:
        listed = "\n  ".join(dict.fromkeys(unexpected))
        pytest.fail(f"errors were logged during the test:\n  {listed}", pytrace=False)
