"""Rate limits, body limits and the proxy's edges, against recording upstreams over real HTTP.

The gateway itself is served by uvicorn too, so bodies really stream over sockets both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from licheng.gateway.app import create_app as create_gateway
from licheng.gateway.body_limit import BodyLimits
from licheng.gateway.settings import DEFAULT_BODY_LIMITS, MIB
from licheng.gateway.settings import Settings as GatewaySettings
from licheng.testing.apps import serving
from licheng.testing.fixtures import TestIssuer
from licheng.testing.servers import free_port

# ---------------------------------------------------------------------------------------------
# Upstreams that record what reached them


@dataclass
class Received:
    method: str
    target: str  # raw path and query, as the upstream got them
    headers: list[tuple[str, str]]
    size: int
    sha256: str
    complete: bool


@dataclass
class Recorder:
    """A FastAPI app that hashes and records every request body it receives."""

    received: list[Received] = field(default_factory=list)
    downloads_closed: int = 0

    def to(self, path_part: str) -> list[Received]:
        """What arrived at targets containing `path_part`."""
        return [r for r in self.received if path_part in r.target]

    def app(self) -> FastAPI:
        app = FastAPI()

        class Item(BaseModel):
            name: str

        @app.get("/readyz")
        async def readyz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/api/recorder/v1/items", response_model=Item)
        async def item() -> Item:
            return Item(name="a")

        @app.get("/api/recorder/v1/slow")
        async def slow(request: Request) -> dict[str, bool]:
            for _ in range(100):  # up to 2 s, but gone as soon as the gateway gives up
                if await request.is_disconnected():
                    break
                await asyncio.sleep(0.02)
            return {"slow": True}

        @app.get("/api/recorder/v1/endless")
        async def endless() -> StreamingResponse:
            async def body() -> AsyncIterator[bytes]:
                try:
                    while True:
                        yield b"x" * 65536
                        await asyncio.sleep(0.005)
                finally:
                    self.downloads_closed += 1

            return StreamingResponse(body())

        @app.get("/api/recorder/v1/cookies")
        async def cookies() -> Response:
            response = Response("ok")
            response.set_cookie("first", "1")
            response.set_cookie("second", "2")
            return response

        @app.api_route(
            "/{path:path}",
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            include_in_schema=False,
        )
        async def record(request: Request, path: str) -> Response:
            digest, size, complete = hashlib.sha256(), 0, False
            try:
                async for chunk in request.stream():
                    digest.update(chunk)
                    size += len(chunk)
                complete = True
            except ClientDisconnect:
                pass
            finally:
                raw_path = request.scope["raw_path"].decode("latin-1")
                query = request.scope["query_string"].decode("latin-1")
                self.received.append(
                    Received(
                        method=request.method,
                        target=raw_path + (f"?{query}" if query else ""),
                        headers=[(k.decode(), v.decode()) for k, v in request.headers.raw],
                        size=size,
                        sha256=digest.hexdigest(),
                        complete=complete,
                    )
                )
            if not complete:
                return Response(status_code=499)
            return JSONResponse({"size": size, "sha256": digest.hexdigest()})

        return app


def other_app() -> FastAPI:
    """A second service whose model shares a name with the recorder's but not its shape."""
    app = FastAPI()

    class Item(BaseModel):
        id: int

    @app.get("/api/other/v1/items", response_model=Item)
    async def item() -> Item:
        return Item(id=1)

    return app


# ---------------------------------------------------------------------------------------------
# Gateways in front of them


@dataclass
class Edge:
    gateway: httpx.AsyncClient
    recorder: Recorder
    recorder_url: str


def gateway_settings(issuer: TestIssuer, recorder_url: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "upstreams": {"recorder": recorder_url},
        "portal_url": recorder_url,
        "jwks_url": issuer.jwks_url,
        "jwt_issuer": issuer.issuer,
        **overrides,
    }
    return GatewaySettings(**values)


@asynccontextmanager
async def gateway_over_http(settings: GatewaySettings) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serving(create_gateway(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=10.0) as client,
    ):
        yield client


@pytest.fixture(scope="module")
async def edge(issuer: TestIssuer) -> AsyncIterator[Edge]:
    recorder = Recorder()
    async with serving(recorder.app()) as recorder_url, serving(other_app()) as other_url:
        settings = gateway_settings(
            issuer,
            recorder_url,
            upstreams={
                "recorder": recorder_url,
                "other": other_url,
                "down": f"http://127.0.0.1:{free_port()}",
            },
            upstream_timeout_seconds=0.3,
        )
        async with gateway_over_http(settings) as gateway:
            yield Edge(gateway=gateway, recorder=recorder, recorder_url=recorder_url)


async def eventually(condition: Callable[[], bool], *, within: float = 2.0) -> bool:
    """Whether `condition` holds within `within` seconds (what an upstream sees lands async)."""
    for _ in range(int(within / 0.02)):
        if condition():
            return True
        await asyncio.sleep(0.02)
    return condition()


def unique(prefix: str) -> str:
    return f"/api/recorder/v1/{prefix}-{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------------------------------
# Tokens


async def test_no_or_tampered_token_is_401_and_never_reaches_the_service(
    edge: Edge, issuer: TestIssuer
) -> None:
    path = unique("private")
    missing = await edge.gateway.post(path, content=b"{}")
    assert missing.status_code == 401
    assert missing.json()["error"] == "unauthorized"
    token = issuer.token()
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    bad = await edge.gateway.post(
        path, content=b"{}", headers={"authorization": f"Bearer {tampered}"}
    )
    assert bad.status_code == 401
    assert bad.json()["error"] == "token_invalid"
    assert edge.recorder.to(path) == []


async def test_dot_segments_cannot_slip_past_the_token_check(edge: Edge) -> None:
    # Starlette decodes %2F, so this would match the public `v1/dev-auth/` prefix and then
    # resolve to /api/recorder/v1/secret at the service.
    response = await edge.gateway.get("/api/recorder/v1/dev-auth/..%2F..%2Fv1/secret")
    assert response.status_code == 400
    assert response.json()["error"] == "bad_path"
    assert edge.recorder.to("secret") == []


# ---------------------------------------------------------------------------------------------
# Body limits


async def test_declared_oversized_body_is_413_before_the_service_is_contacted(
    edge: Edge, issuer: TestIssuer
) -> None:
    path = unique("notes")
    response = await edge.gateway.post(path, content=b"x" * (MIB + 1), headers=issuer.headers())
    assert response.status_code == 413
    body = response.json()
    assert body["error"] == "payload_too_large"
    assert "1 MB" in body["message"]
    assert body["detail"] == {"limit_bytes": MIB}
    assert edge.recorder.to(path) == []


async def test_upload_routes_have_larger_limits(edge: Edge, issuer: TestIssuer) -> None:
    path = unique("files")
    response = await edge.gateway.post(
        f"{path}/files", content=b"x" * (12 * MIB + 1), headers=issuer.headers()
    )
    assert response.status_code == 413
    assert "12 MB" in response.json()["message"]
    assert edge.recorder.to(path) == []


def test_body_limit_patterns() -> None:
    limits = BodyLimits(MIB, DEFAULT_BODY_LIMITS)
    assert limits.for_path("/api/course-outcomes/v1/schools/011302/imports") == 20 * MIB
    assert limits.for_path("/api/identity/v1/schools/011302/imports/roster") == 20 * MIB
    assert limits.for_path("/api/performances/v1/records/1/files") == 12 * MIB
    assert limits.for_path("/api/course-outcomes/v1/uploads/abc") == 12 * MIB
    assert limits.for_path("/api/course-outcomes/v1/filesystem") == MIB
    assert limits.for_path("/api/identity/v1/me") == MIB


async def chunks(total: int, seed: int, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """`total` pseudo-random bytes in chunks: an httpx body with no Content-Length."""
    generator = random.Random(seed)
    sent = 0
    while sent < total:
        size = min(chunk_size, total - sent)
        sent += size
        yield generator.randbytes(size)


async def test_chunked_oversized_body_is_413_while_streaming(
    edge: Edge, issuer: TestIssuer
) -> None:
    path = unique("notes")
    response = await edge.gateway.post(
        path, content=chunks(3 * MIB, seed=1), headers=issuer.headers()
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    # The service saw the start of it streaming in, then the connection cut: never all of it.
    assert await eventually(lambda: bool(edge.recorder.to(path)))
    [received] = edge.recorder.to(path)
    assert not received.complete
    assert 0 < received.size <= MIB


async def test_5_mb_upload_streams_through_byte_for_byte(edge: Edge, issuer: TestIssuer) -> None:
    payload = random.Random(5).randbytes(5 * 1000 * 1000)
    path = unique("files") + "/files"
    response = await edge.gateway.put(path, content=payload, headers=issuer.headers())
    assert response.status_code == 200, response.text
    expected = hashlib.sha256(payload).hexdigest()
    assert response.json() == {"size": len(payload), "sha256": expected}
    [received] = edge.recorder.to(path)
    assert received.sha256 == expected
    assert ("content-length", str(len(payload))) in received.headers


async def test_chunked_upload_under_the_limit_streams_through(
    edge: Edge, issuer: TestIssuer
) -> None:
    path = unique("uploads") + "/uploads"
    total = 5 * 1000 * 1000
    expected = hashlib.sha256()
    async for chunk in chunks(total, seed=7):
        expected.update(chunk)
    response = await edge.gateway.post(
        path, content=chunks(total, seed=7), headers=issuer.headers()
    )
    assert response.status_code == 200, response.text
    [received] = edge.recorder.to(path)
    assert (received.size, received.sha256) == (total, expected.hexdigest())
    assert ("transfer-encoding", "chunked") in received.headers


# ---------------------------------------------------------------------------------------------
# Services down or slow


async def test_service_down_is_503(edge: Edge, issuer: TestIssuer) -> None:
    response = await edge.gateway.get("/api/down/v1/anything", headers=issuer.headers())
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "service_unavailable"
    assert "down" in body["message"]


async def test_slow_service_is_504(edge: Edge, issuer: TestIssuer) -> None:
    response = await edge.gateway.get("/api/recorder/v1/slow", headers=issuer.headers())
    assert response.status_code == 504
    assert response.json()["error"] == "upstream_timeout"


# ---------------------------------------------------------------------------------------------
# Headers both ways


async def test_headers_are_rebuilt_for_the_service(edge: Edge, issuer: TestIssuer) -> None:
    path = unique("headers") + "/a%2Fb"
    request = edge.gateway.build_request(
        "GET",
        path,
        params={"q": "1 2"},
        headers={
            **issuer.headers(),
            "x-request-id": "trace-me-456",
            "connection": "keep-alive, x-hop",
            "x-hop": "private to this hop",
        },
    )
    del request.headers["accept-encoding"]
    response = await edge.gateway.send(request)
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "trace-me-456"
    [received] = edge.recorder.to(path)
    assert received.target == f"{path}?q=1+2"  # the escaped slash stays escaped
    headers: dict[str, list[str]] = {}
    for name, value in received.headers:
        headers.setdefault(name, []).append(value)
    assert headers["x-request-id"] == ["trace-me-456"]
    assert headers["x-forwarded-for"] == ["127.0.0.1"]
    assert headers["authorization"] == [request.headers["authorization"]]
    assert headers["accept-encoding"] == ["identity"]
    assert "x-hop" not in headers


async def test_upstream_connection_is_closed_when_the_client_goes_away(
    edge: Edge, issuer: TestIssuer
) -> None:
    before = edge.recorder.downloads_closed
    async with edge.gateway.stream(
        "GET", "/api/recorder/v1/endless", headers=issuer.headers()
    ) as response:
        assert response.status_code == 200
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > 256 * 1024:
                break
    assert await eventually(lambda: edge.recorder.downloads_closed == before + 1)


async def test_every_set_cookie_and_single_date_survive(edge: Edge, issuer: TestIssuer) -> None:
    response = await edge.gateway.get("/api/recorder/v1/cookies", headers=issuer.headers())
    assert response.status_code == 200
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 2
    assert [cookie.split(";")[0] for cookie in cookies] == ["first=1", "second=2"]
    assert len(response.headers.get_list("date")) == 1
    assert len(response.headers.get_list("server")) == 1


async def test_merged_openapi_keeps_clashing_schemas_apart(edge: Edge) -> None:
    document = (await edge.gateway.get("/api/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert schemas["Item"]["properties"].keys() == {"name"}
    assert schemas["other__Item"]["properties"].keys() == {"id"}

    def ref_of(path: str) -> str:
        ok = document["paths"][path]["get"]["responses"]["200"]
        return str(ok["content"]["application/json"]["schema"]["$ref"])

    assert ref_of("/api/recorder/v1/items") == "#/components/schemas/Item"
    assert ref_of("/api/other/v1/items") == "#/components/schemas/other__Item"
    assert "down" in document["info"]["description"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


# ---------------------------------------------------------------------------------------------
# Rate limits and client addresses
#
# These run the gateway in-process, reached from whichever client address a test picks. Over
# loopback, uvicorn's own proxy-header handling would believe X-Forwarded-For (it trusts
# 127.0.0.1) before the gateway ever saw the real peer.

ClientFrom = Callable[[str], Awaitable[httpx.AsyncClient]]


@asynccontextmanager
async def gateway_in_process(settings: GatewaySettings) -> AsyncIterator[ClientFrom]:
    app = create_gateway(settings)
    async with app.router.lifespan_context(app), contextlib.AsyncExitStack() as clients:

        async def client_from(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(address, 50000))
            client = httpx.AsyncClient(transport=transport, base_url="http://gateway.test")
            return await clients.enter_async_context(client)

        yield client_from


def assert_rate_limited(response: httpx.Response, *, window_seconds: int) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["error"] == "rate_limited"
    assert body["message"] == "請求過於頻繁，請稍後再試"
    retry_after = int(response.headers["retry-after"])
    assert window_seconds - 5 <= retry_after <= window_seconds
    assert body["detail"] == {"retry_after_seconds": retry_after}
    assert response.headers["x-ratelimit-remaining"] == "0"


async def test_rate_limit_is_per_token_subject(edge: Edge, issuer: TestIssuer) -> None:
    settings = gateway_settings(issuer, edge.recorder_url, rate_limit="5/minute")
    async with gateway_in_process(settings) as client_from:
        school = await client_from("203.0.113.10")
        alice = issuer.headers()
        for remaining in (4, 3, 2, 1, 0):
            response = await school.get("/api/recorder/v1/me", headers=alice)
            assert response.status_code == 200, response.text
            assert response.headers["x-ratelimit-limit"] == "5"
            assert response.headers["x-ratelimit-remaining"] == str(remaining)
        assert_rate_limited(
            await school.get("/api/recorder/v1/me", headers=alice), window_seconds=60
        )
        # Someone else, from the very same address, is not held back by alice.
        bob = await school.get("/api/recorder/v1/me", headers=issuer.headers())
        assert bob.status_code == 200
        # Health and metrics are never limited.
        for _ in range(3):
            assert (await school.get("/healthz")).status_code == 200
            scraper = issuer.headers(roles=["service"], azp="prometheus")
            assert (await school.get("/metrics", headers=scraper)).status_code == 200


async def test_anonymous_callers_are_limited_per_address(edge: Edge, issuer: TestIssuer) -> None:
    settings = gateway_settings(
        issuer, edge.recorder_url, anonymous_rate_limit="3/minute", portal_rate_limit="3/minute"
    )
    async with gateway_in_process(settings) as client_from:
        first, second = await client_from("203.0.113.7"), await client_from("203.0.113.8")
        for _ in range(3):
            api = await first.get("/api/recorder/v1/me", headers={"authorization": "Bearer x.y.z"})
            assert api.status_code == 401
        for n in range(3):
            response = await first.get("/", headers={"x-forwarded-for": f"192.0.2.{n}"})
            assert response.status_code == 200
        # A made-up X-Forwarded-For buys no fresh allowance when no proxy is trusted...
        spoofed = await first.get("/", headers={"x-forwarded-for": "192.0.2.99"})
        assert_rate_limited(spoofed, window_seconds=60)
        # ...nor does a bad token, which counts as anonymous (and gets no 401 first).
        bad = await first.get("/api/recorder/v1/me", headers={"authorization": "Bearer x.y.z"})
        assert bad.status_code == 429
        # Another address has its own allowance, and so has a valid token.
        assert (await second.get("/")).status_code == 200
        signed_in = await first.get("/api/recorder/v1/me", headers=issuer.headers())
        assert signed_in.status_code == 200
    # The made-up header never reached the service either.
    forwarded = [
        value
        for received in edge.recorder.received
        for name, value in received.headers
        if name == "x-forwarded-for"
    ]
    assert "192.0.2.0" not in " ".join(forwarded)


async def test_behind_a_trusted_proxy_each_forwarded_client_counts_alone(
    edge: Edge, issuer: TestIssuer
) -> None:
    settings = gateway_settings(
        issuer, edge.recorder_url, portal_rate_limit="2/minute", trusted_proxy_hops=1
    )
    async with gateway_in_process(settings) as client_from:
        proxy = await client_from("10.0.0.2")
        # The client may prepend anything; only the entry the trusted proxy appended counts.
        first = {"x-forwarded-for": "10.9.9.9, 203.0.113.7"}
        for _ in range(2):
            assert (await proxy.get("/", headers=first)).status_code == 200
        assert_rate_limited(await proxy.get("/", headers=first), window_seconds=60)
        page = f"/page-{uuid.uuid4().hex[:8]}"
        other = {"x-forwarded-for": "10.9.9.9, 203.0.113.8"}
        assert (await proxy.get(page, headers=other)).status_code == 200
    # The chain grows by the trusted proxy's own address on its way to the service.
    [received] = edge.recorder.to(page)
    assert ("x-forwarded-for", "10.9.9.9, 203.0.113.8, 10.0.0.2") in received.headers


async def test_sign_in_paths_have_a_stricter_limit(edge: Edge, issuer: TestIssuer) -> None:
    settings = gateway_settings(
        issuer,
        edge.recorder_url,
        sign_in_rate_limit="2/minute",
        sign_in_paths=("/api/recorder/v1/dev-auth/",),
    )
    async with gateway_in_process(settings) as client_from:
        client = await client_from("203.0.113.20")
        for _ in range(2):
            response = await client.post("/api/recorder/v1/dev-auth/token", content=b"{}")
            assert response.status_code == 200
        assert_rate_limited(
            await client.post("/api/recorder/v1/dev-auth/token", content=b"{}"),
            window_seconds=60,
        )
        # The rest of the anonymous allowance is untouched.
        assert (await client.get("/")).status_code == 200


async def test_a_whole_school_behind_one_address_reaches_the_portal(
    edge: Edge, issuer: TestIssuer
) -> None:
    settings = gateway_settings(
        issuer,
        edge.recorder_url,
        portal_rate_limit="20/minute",
        portal_session_rate_limit="3/minute",
    )
    async with gateway_in_process(settings) as client_from:
        school = await client_from("203.0.113.30")
        # Static assets are never counted.
        for _ in range(30):
            assert (await school.get("/static/portal.css")).status_code == 200
        # Signed-in pages count per session: one student's clicks never hold back another's.
        for student in range(10):
            cookie = {"cookie": f"licheng_session=session-{student}"}
            for _ in range(3):
                page = await school.get("/student/outcomes", headers=cookie)
                assert page.status_code == 200, page.text
            assert_rate_limited(
                await school.get("/student/outcomes", headers=cookie), window_seconds=60
            )
        # Pages before sign-in share the school's per-address allowance.
        for _ in range(20):
            assert (await school.get("/auth/login")).status_code == 200
        assert_rate_limited(await school.get("/auth/login"), window_seconds=60)


async def test_a_get_is_retried_once_when_a_kept_alive_connection_breaks(
    issuer: TestIssuer,
) -> None:
    served: list[str] = []

    async def portal(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        served.append("request")
        if len(served) == 1:
            writer.close()  # gone without a word, as a closed keep-alive connection is
            return
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(portal, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = gateway_settings(issuer, f"http://127.0.0.1:{port}")
        async with gateway_in_process(settings) as client_from:
            browser = await client_from("203.0.113.40")
            page = await browser.get("/student/outcomes")
            assert (page.status_code, page.text) == (200, "ok")
            assert served == ["request", "request"]
            # A form post is never sent twice: its loss is reported instead.
            served.clear()
            posted = await browser.post("/auth/login", data={"username": "x"})
            assert posted.status_code == 503
            assert served == ["request"]
    finally:
        server.close()
        await server.wait_closed()
