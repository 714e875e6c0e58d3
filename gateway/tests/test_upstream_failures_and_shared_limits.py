"""How the gateway tells upstream failures apart, and rate limits shared by several gateways.

Each failure is provoked for real over loopback sockets: nothing listening (refused), a
listener whose backlog is full (connect timeout), a service that answers too slowly (read
timeout), one that drops the connection (transport error), and a pool of one connection held
by a slow request (pool timeout). The shared limit runs against a private `redis-server`.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from licheng.gateway.app import create_app as create_gateway
from licheng.gateway.caller import VerifiedTokens
from licheng.gateway.settings import Settings as GatewaySettings
from licheng.kit.auth import TokenVerifier
from licheng.kit.errors import Unauthorized
from licheng.testing.apps import serving
from licheng.testing.fixtures import TestIssuer
from licheng.testing.servers import free_port, wait_for_port


def upstream_app() -> FastAPI:
    app = FastAPI()

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/svc/v1/items")
    async def items() -> dict[str, str]:
        return {"name": "a"}

    @app.get("/api/svc/v1/note")
    async def note(request: Request) -> dict[str, str]:
        raw = dict(request.headers.raw)
        return {"note": raw.get(b"x-note", b"").hex()}

    @app.get("/api/svc/v1/slow")
    async def slow(seconds: float = 1.0) -> dict[str, bool]:
        await asyncio.sleep(seconds)
        return {"slow": True}

    return app


def settings_for(
    issuer: TestIssuer, upstreams: dict[str, str], **overrides: Any
) -> GatewaySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "upstreams": upstreams,
        "portal_url": next(iter(upstreams.values())),
        "jwks_url": issuer.jwks_url,
        "jwt_issuer": issuer.issuer,
        **overrides,
    }
    return GatewaySettings(**values)


@asynccontextmanager
async def gateway(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serving(create_gateway(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=10.0) as client,
    ):
        yield client


def failures_logged(out: str) -> list[dict[str, Any]]:
    """The gateway's `proxy.upstream_failed` log lines (JSON on stdout)."""
    events = []
    for line in out.splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") == "proxy.upstream_failed":
                events.append(event)
    return events


# ---------------------------------------------------------------------------------------------
# Upstream failures, each answered and logged for what it is


async def test_nothing_listening_is_503_with_retry_after_logged_as_connect_refused(
    issuer: TestIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(issuer, {"svc": f"http://127.0.0.1:{free_port()}"})
    async with gateway(settings) as client:
        response = await client.get("/api/svc/v1/items", headers=issuer.headers())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"] == "service_unavailable"
    [failure] = failures_logged(capsys.readouterr().out)
    assert (failure["upstream"], failure["failure"]) == ("svc", "connect_refused")


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listener never accepts and whose backlog is full: connecting times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    waiting = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        waiting.append(filler)
    try:
        yield port
    finally:
        for filler in waiting:
            filler.close()
        listener.close()


async def test_connect_timeout_is_503_with_retry_after_logged_as_connect_timeout(
    issuer: TestIssuer, full_backlog: int, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(
        issuer,
        {"svc": f"http://127.0.0.1:{full_backlog}"},
        upstream_connect_timeout_seconds=0.3,
    )
    async with gateway(settings) as client:
        started = time.monotonic()
        response = await client.get("/api/svc/v1/items", headers=issuer.headers())
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert elapsed < 5
    [failure] = failures_logged(capsys.readouterr().out)
    assert failure["failure"] == "connect_timeout"


async def test_slow_answer_is_504_without_retry_after_logged_as_read_timeout(
    issuer: TestIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(upstream_app()) as upstream:
        settings = settings_for(issuer, {"svc": upstream}, upstream_timeout_seconds=0.3)
        async with gateway(settings) as client:
            response = await client.get("/api/svc/v1/slow", headers=issuer.headers())
    assert response.status_code == 504
    assert response.json()["error"] == "upstream_timeout"
    assert "retry-after" not in response.headers
    [failure] = failures_logged(capsys.readouterr().out)
    assert failure["failure"] == "read_timeout"


async def test_dropped_connection_is_503_without_retry_after_logged_as_transport_error(
    issuer: TestIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    async def drops(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()  # takes the request, answers nothing

    server = await asyncio.start_server(drops, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = settings_for(issuer, {"svc": f"http://127.0.0.1:{port}"})
        async with gateway(settings) as client:
            response = await client.post(
                "/api/svc/v1/items", headers=issuer.headers(), json={"name": "b"}
            )
    finally:
        server.close()
        await server.wait_closed()
    assert response.status_code == 503
    assert "retry-after" not in response.headers
    [failure] = failures_logged(capsys.readouterr().out)
    assert (failure["failure"], failure["method"]) == ("transport_error", "POST")


async def test_a_rush_beyond_the_pool_waits_for_connections_instead_of_failing(
    issuer: TestIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(upstream_app()) as upstream:
        settings = settings_for(issuer, {"svc": upstream}, upstream_pool_size=2)
        async with gateway(settings) as client:
            headers = issuer.headers()
            answers = await asyncio.gather(
                *(
                    client.get("/api/svc/v1/slow", params={"seconds": 0.1}, headers=headers)
                    for _ in range(8)
                )
            )
    assert [a.status_code for a in answers] == [200] * 8
    assert failures_logged(capsys.readouterr().out) == []


async def test_no_free_connection_in_time_is_504_logged_as_pool_timeout(
    issuer: TestIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    async with serving(upstream_app()) as upstream:
        settings = settings_for(
            issuer,
            {"svc": upstream},
            upstream_pool_size=1,
            upstream_pool_timeout_seconds=0.2,
        )
        async with gateway(settings) as client:
            headers = issuer.headers()
            holding = asyncio.create_task(
                client.get("/api/svc/v1/slow", params={"seconds": 1.0}, headers=headers)
            )
            await asyncio.sleep(0.3)  # the one connection is busy now
            waiting = await client.get("/api/svc/v1/items", headers=headers)
            held = await holding
    assert held.status_code == 200
    assert waiting.status_code == 504
    assert "retry-after" not in waiting.headers
    [failure] = failures_logged(capsys.readouterr().out)
    assert failure["failure"] == "pool_timeout"


async def test_a_header_in_utf_8_reaches_the_service_byte_for_byte(issuer: TestIssuer) -> None:
    value = "測試 note".encode()
    async with (
        serving(upstream_app()) as upstream,
        gateway(settings_for(issuer, {"svc": upstream})) as client,
    ):
        response = await client.get(
            "/api/svc/v1/note", headers={**issuer.headers(), "x-note": value}
        )
    assert response.status_code == 200
    assert bytes.fromhex(response.json()["note"]) == value


async def test_proxied_requests_are_logged_by_route_not_by_path(
    issuer: TestIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    async with (
        serving(upstream_app()) as upstream,
        gateway(settings_for(issuer, {"svc": upstream})) as client,
    ):
        response = await client.get("/api/svc/v1/items", headers=issuer.headers())
        assert response.status_code == 200
    routes = [
        event["route"]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("{")
        and (event := json.loads(line)).get("event") == "http.request"
        and event.get("service") == "gateway"
    ]
    assert routes == ["/api/{service}/{path:path}"]


# ---------------------------------------------------------------------------------------------
# Verified tokens are remembered only while they are valid


async def test_a_remembered_token_still_expires(issuer: TestIssuer) -> None:
    tokens = VerifiedTokens(
        TokenVerifier(
            jwks_url=issuer.jwks_url,
            issuer=issuer.issuer,
            audience=issuer.audience,
            leeway_seconds=0,
        ),
        leeway_seconds=0,
    )
    token = issuer.token(lifetime_seconds=1)
    first = await tokens.verify(token)
    assert await tokens.verify(token) == first
    await asyncio.sleep(1.2)
    with pytest.raises(Unauthorized) as refused:
        await tokens.verify(token)
    assert refused.value.error_code == "token_expired"


async def test_a_refused_token_is_not_remembered(issuer: TestIssuer) -> None:
    tokens = VerifiedTokens(
        TokenVerifier(jwks_url=issuer.jwks_url, issuer=issuer.issuer, audience=issuer.audience)
    )
    forged = issuer.token()[:-4] + "AAAA"
    for _ in range(2):
        with pytest.raises(Unauthorized):
            await tokens.verify(forged)


# ---------------------------------------------------------------------------------------------
# Several gateways, one limit


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A private redis-server on a free loopback port (Debian's package), gone afterwards."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: ./licheng test installs Debian's package"
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def hits_allowed(clients: list[httpx.AsyncClient], headers: dict[str, str], n: int) -> int:
    """Send `n` requests spread over the gateways in turn; how many were let through."""
    allowed = 0
    for i in range(n):
        response = await clients[i % len(clients)].get("/api/svc/v1/items", headers=headers)
        assert response.status_code in (200, 429), response.text
        allowed += response.status_code == 200
    return allowed


async def test_two_gateways_sharing_redis_allow_the_limit_once_in_total(
    issuer: TestIssuer, redis_url: str
) -> None:
    async with serving(upstream_app()) as upstream:
        settings = settings_for(
            issuer,
            {"svc": upstream},
            rate_limit="5/minute",
            rate_limit_storage_uri=redis_url,
        )
        async with gateway(settings) as first, gateway(settings) as second:
            headers = issuer.headers()
            assert await hits_allowed([first, second], headers, 12) == 5
            refused = await second.get("/api/svc/v1/items", headers=headers)
            assert refused.status_code == 429
            assert refused.headers["x-ratelimit-remaining"] == "0"
            assert 0 < int(refused.headers["retry-after"]) <= 60
            # Another caller has a window of its own, in the same store.
            other = issuer.headers(person_id=uuid.uuid4())
            assert (await first.get("/api/svc/v1/items", headers=other)).status_code == 200


async def test_gateways_counting_in_memory_each_allow_the_whole_limit(issuer: TestIssuer) -> None:
    # What the shared store is for: in memory, each replica counts alone.
    async with serving(upstream_app()) as upstream:
        settings = settings_for(issuer, {"svc": upstream}, rate_limit="5/minute")
        async with gateway(settings) as first, gateway(settings) as second:
            assert await hits_allowed([first, second], issuer.headers(), 12) == 10


# ---------------------------------------------------------------------------------------------
# Every process that calls another over httpx


async def test_httpx_requests_try_no_failing_import(
    issuer: TestIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpcore imports `sniffio` lazily on every request and falls back to asyncio when it is
    # missing; Python does not remember a failed import, so each request paid a whole search of
    # sys.path. The kit depends on sniffio, so every service, the portal and the gateway have it.
    import builtins

    failed: list[str] = []
    real_import = builtins.__import__

    def recording_import(name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return real_import(name, *args, **kwargs)
        except ImportError:
            failed.append(name)
            raise

    async with serving(upstream_app()) as upstream, httpx.AsyncClient(base_url=upstream) as client:
        assert (await client.get("/readyz")).status_code == 200
        monkeypatch.setattr(builtins, "__import__", recording_import)
        for _ in range(5):
            assert (await client.get("/readyz")).status_code == 200
        monkeypatch.setattr(builtins, "__import__", real_import)
    assert failed == []
