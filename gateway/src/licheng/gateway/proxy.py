"""Streaming reverse proxy to the services and the portal.

Request bodies stream through, never buffered; answers stream back too, except small ones of
declared length (at most SMALL_BODY_BYTES), read whole and sent at once. The connections to the
services are aiohttp's: kept alive and taken from a per-host queue without scanning a pool or
asking the socket for its peer on every request (httpx/httpcore did both; docs/gateway.md has
the figures).
Each service gets at most `UpstreamPool.size` connections in use at once; further requests wait
for one (a rush queues here rather than failing).

How a failure is answered, and logged (`proxy.upstream_failed`, `failure=`):
- `connect_refused` / `connect_timeout`: nothing accepts connections, the service is down —
  503 with `Retry-After`;
- `read_timeout`: the service took the connection but answered too slowly — 504;
- `pool_timeout`: no connection to the service became free in time — 504, the service is
  saturated, not down;
- `transport_error`: the connection broke before an answer (a body-less GET or HEAD is tried
  once more first) — 503 without `Retry-After`.
The connection to the service is closed however the response ends (sent, client gone, broken).
"""

from __future__ import annotations

import asyncio
import functools
import select
from collections.abc import AsyncIterator, Sequence
from types import TracebackType

import aiohttp
import structlog
from aiohttp.client_reqrep import ConnectionKey
from aiohttp.connector import Connection
from aiohttp.tracing import Trace
from fastapi import Request
from multidict import CIMultiDict
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from yarl import URL

from licheng.gateway.body_limit import has_body, limited_body
from licheng.kit.errors import AppError, BadRequest, ServiceUnavailable

log = structlog.get_logger("licheng.gateway.proxy")

RawHeaders = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Written afresh by the gateway, so a client cannot plant its own (a made-up X-Forwarded-For
# would otherwise reach the services as the first of two). `Expect: 100-continue` was already
# answered by the gateway's own server.
REBUILT_REQUEST_HEADERS = frozenset(
    {b"host", b"expect", b"x-request-id", b"x-forwarded-for", b"x-forwarded-proto"}
)
# The gateway's own HTTP server writes these; the service's copies would be duplicates.
REBUILT_RESPONSE_HEADERS = frozenset({b"date", b"server"})


# uvicorn closes a kept-alive connection after 5 s of quiet: drop ours a little earlier, so a
# request is never written into a connection the service is just closing.
KEEPALIVE_SECONDS = 4.0
# Answers up to this size with a declared length are read whole and sent at once; larger or
# unknown-length ones stream through.
SMALL_BODY_BYTES = 64 * 1024
# How long a client is asked to wait before trying a service that was down.
RETRY_AFTER_SECONDS = 5
# aiohttp adds these unless told not to; the gateway passes on what the client sent, no more.
NOT_ADDED = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class GatewayTimeout(AppError):
    status_code = 504
    code = "upstream_timeout"
    default_message = "服務回應逾時，請稍後再試"


class ClientClosedRequest(AppError):
    # nginx's 499: nobody reads this answer, but logs and metrics show what happened.
    status_code = 499
    code = "client_closed_request"
    default_message = "連線已中斷"


def _unavailable(service: str, *, retry_after: bool) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"「{service}」服務暫時無法使用，請稍後再試",
        detail={"service": service},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)} if retry_after else None,
    )


class _CheckedConnector(aiohttp.TCPConnector):
    """aiohttp's connector, except that a kept-alive connection the service has closed already
    (its end of stream waiting unread in the socket) is dropped rather than reused: a request
    written into it would be lost, and a POST cannot be tried again. One poll per request."""

    async def _get(self, key: ConnectionKey, traces: list[Trace]) -> Connection | None:
        while (connection := await super()._get(key, traces)) is not None:
            if not _closed_by_peer(connection):
                return connection
            connection.close()
        return None


def _closed_by_peer(connection: Connection) -> bool:
    # An idle HTTP/1.1 connection has nothing to read: anything readable is its end (or junk).
    transport = connection.transport
    sock = None if transport is None else transport.get_extra_info("socket")
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))


class UpstreamPool:
    """Kept-alive connections to the services: at most `size` in use per service at once."""

    def __init__(
        self,
        *,
        size: int,
        connect_timeout: float,
        read_timeout: float,
        pool_timeout: float,
    ) -> None:
        self.size = size
        self.pool_timeout = pool_timeout
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None
        self._slots: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> UpstreamPool:
        # The connector itself is unbounded: the per-service slots below bound it, so that
        # waiting for a free connection (pool) and connecting (TCP) time out apart.
        connector = _CheckedConnector(
            limit=0, limit_per_host=0, keepalive_timeout=KEEPALIVE_SECONDS
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=NOT_ADDED,
            max_line_size=16 * 1024,
            max_field_size=32 * 1024,
        )
        # aiohttp retries every idempotent method once by itself; the gateway decides that
        # (a body-less GET or HEAD only), so a DELETE is never sent twice.
        self._session._retry_connection = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The open client session."""
        if self._session is None:
            raise RuntimeError("the upstream pool is not open")
        return self._session

    def slots(self, base_url: str) -> asyncio.Semaphore:
        """The connection slots of one service."""
        slots = self._slots.get(base_url)
        if slots is None:
            slots = self._slots[base_url] = asyncio.Semaphore(self.size)
        return slots


def reject_dot_segments(path: str) -> None:
    """400 for `.` and `..` segments, which could lead past the route the gateway checked."""
    if any(segment in (".", "..") for segment in path.split("/")):
        raise BadRequest("請求路徑不正確", code="bad_path")


def end_to_end(raw: Sequence[tuple[bytes, bytes]], rebuilt: frozenset[bytes]) -> RawHeaders:
    """The headers without hop-by-hop ones (also those the Connection header names)."""
    named = {
        token.strip().lower()
        for name, value in raw
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    dropped = HOP_BY_HOP | rebuilt | named
    return [(name.lower(), value) for name, value in raw if name.lower() not in dropped]


def _upstream_headers(request: Request, trusted_proxy_hops: int) -> CIMultiDict[str]:
    raw = request.headers.raw
    headers = end_to_end(raw, REBUILT_REQUEST_HEADERS)
    if "transfer-encoding" in request.headers:
        # The body is framed in chunks; a Content-Length beside it is not to be believed.
        headers = [(name, value) for name, value in headers if name != b"content-length"]
    if b"accept-encoding" not in {name for name, _ in headers}:
        # Else the raw bytes passed back could be compressed for a caller that never said it
        # could read them.
        headers.append((b"accept-encoding", b"identity"))
    # Behind trusted proxies the chain grows by our peer; otherwise our peer starts it afresh.
    chain = [v for name, v in raw if name == b"x-forwarded-for"] if trusted_proxy_hops else []
    peer = request.client.host if request.client else "unknown"
    headers.append((b"x-forwarded-for", b", ".join([*chain, peer.encode("latin-1")])))
    proto = request.headers.get("x-forwarded-proto") if trusted_proxy_hops else None
    headers.append((b"x-forwarded-proto", (proto or request.url.scheme).encode("latin-1")))
    request_id = request.scope.get("licheng.request_id")
    if request_id:
        headers.append((b"x-request-id", str(request_id).encode("latin-1")))
    return CIMultiDict((name.decode("latin-1"), _as_sent(value)) for name, value in headers)


def _as_sent(value: bytes) -> str:
    # aiohttp writes header values out as UTF-8: decoding them as UTF-8 gives back the very
    # bytes the client sent (a raw UTF-8 value included); anything else is read as Latin-1.
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


@functools.lru_cache(maxsize=64)
def _origin(base_url: str) -> str:
    return str(URL(base_url).origin())


def _upstream_url(request: Request, base_url: str) -> URL:
    # The path exactly as the client encoded it: decoding and re-encoding would turn an
    # escaped `/` or `?` into a real one.
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    origin = _origin(base_url)
    target = (raw_path + (b"?" + query if query else b"")).decode("latin-1")
    return URL(origin + target, encoded=True)


class UpstreamResponse(StreamingResponse):
    """A service's answer streamed back, every header kept (several Set-Cookie included)."""

    def __init__(
        self, upstream: aiohttp.ClientResponse, service: str, slots: asyncio.Semaphore
    ) -> None:
        super().__init__(upstream.content.iter_any(), status_code=upstream.status)
        self.raw_headers = end_to_end(upstream.raw_headers, REBUILT_RESPONSE_HEADERS)
        self.upstream = upstream
        self.service = service
        self._slots = slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except aiohttp.ClientError as exc:
            # Too late for an error body: the status line is out. Breaking the connection is
            # the only way left to tell the client the body is incomplete.
            failure = "read_timeout" if isinstance(exc, asyncio.TimeoutError) else "transport_error"
            log.warning(
                "proxy.upstream_broke",
                upstream=self.service,
                failure=failure,
                error=type(exc).__name__,
            )
            raise
        finally:
            # Back to the pool when the body was read to its end, else the connection closes.
            if self.upstream.content.is_eof():
                self.upstream.release()
            else:
                self.upstream.close()
            self._slots.release()


async def _watched(chunks: AsyncIterator[bytes], failures: list[Exception]) -> AsyncIterator[bytes]:
    """The request body as it streams; what went wrong reading it (413, client gone) is kept,
    since aiohttp reports a failing body only as a broken connection."""
    try:
        async for chunk in chunks:
            yield chunk
    except Exception as exc:
        failures.append(exc)
        raise


def _failed(service: str, failure: str, exc: BaseException, *, method: str) -> None:
    log.warning(
        "proxy.upstream_failed",
        upstream=service,
        failure=failure,
        error=type(exc).__name__,
        method=method,
    )


async def _send(
    pool: UpstreamPool,
    request: Request,
    *,
    url: URL,
    headers: CIMultiDict[str],
    body: AsyncIterator[bytes] | None,
    service: str,
) -> aiohttp.ClientResponse:
    # A body-less GET or HEAD is tried once more when the connection breaks before any answer:
    # most often a kept-alive connection the service closed just as we reused it.
    attempts = 2 if body is None and request.method in ("GET", "HEAD") else 1
    method = request.method
    for attempt in range(1, attempts + 1):
        failures: list[Exception] = []
        try:
            return await pool.session.request(
                method,
                url,
                headers=headers,
                data=None if body is None else _watched(body, failures),
                allow_redirects=False,
            )
        except aiohttp.ClientError as exc:
            if failures:
                # Reading the client's body failed, not the service: 413, or the client left.
                if isinstance(failures[0], ClientDisconnect):
                    raise ClientClosedRequest() from failures[0]
                raise failures[0] from exc
            if isinstance(exc, aiohttp.ConnectionTimeoutError):
                _failed(service, "connect_timeout", exc, method=method)
                raise _unavailable(service, retry_after=True) from exc
            if isinstance(exc, aiohttp.ClientConnectorError):
                _failed(service, "connect_refused", exc, method=method)
                raise _unavailable(service, retry_after=True) from exc
            if isinstance(exc, aiohttp.ServerTimeoutError):
                _failed(service, "read_timeout", exc, method=method)
                raise GatewayTimeout(detail={"service": service}) from exc
            if attempt < attempts:
                continue
            _failed(service, "transport_error", exc, method=method)
            raise _unavailable(service, retry_after=False) from exc
        except ClientDisconnect as exc:
            raise ClientClosedRequest() from exc
    raise AssertionError("unreachable")  # pragma: no cover


async def forward(
    pool: UpstreamPool,
    request: Request,
    *,
    base_url: str,
    service: str,
    max_body_bytes: int,
    trusted_proxy_hops: int = 0,
) -> Response:
    """Send the request on to `base_url` (same path and query) and stream the answer back."""
    # Raises 413 here, before the service is contacted, when the declared length is too big.
    body = limited_body(request, max_body_bytes) if has_body(request) else None
    url = _upstream_url(request, base_url)
    headers = _upstream_headers(request, trusted_proxy_hops)
    slots = pool.slots(base_url)
    await _take_slot(slots, pool.pool_timeout, service=service, method=request.method)
    try:
        upstream = await _send(pool, request, url=url, headers=headers, body=body, service=service)
    except BaseException:
        slots.release()
        raise
    length = upstream.content_length
    if request.method != "HEAD" and length is not None and length <= SMALL_BODY_BYTES:
        return await _read_whole(upstream, service, slots)
    return UpstreamResponse(upstream, service, slots)


async def _take_slot(
    slots: asyncio.Semaphore, timeout: float, *, service: str, method: str
) -> None:
    if not slots.locked():
        await slots.acquire()  # a slot is free: taken at once, no timer needed
        return
    try:
        async with asyncio.timeout(timeout):
            await slots.acquire()
    except TimeoutError as exc:
        _failed(service, "pool_timeout", exc, method=method)
        raise GatewayTimeout(detail={"service": service}) from exc


async def _read_whole(
    upstream: aiohttp.ClientResponse, service: str, slots: asyncio.Semaphore
) -> Response:
    """A small answer of known length, read whole and sent in one piece: no streaming task and
    no watch for the client leaving are needed for a few kilobytes."""
    try:
        body = await upstream.read()
    except aiohttp.ClientError as exc:
        upstream.close()
        if isinstance(exc, asyncio.TimeoutError):
            _failed(service, "read_timeout", exc, method=upstream.method)
            raise GatewayTimeout(detail={"service": service}) from exc
        _failed(service, "transport_error", exc, method=upstream.method)
        raise _unavailable(service, retry_after=False) from exc
    except BaseException:
        upstream.close()
        raise
    finally:
        slots.release()
    upstream.release()
    response = Response(body, status_code=upstream.status)
    response.raw_headers = end_to_end(upstream.raw_headers, REBUILT_RESPONSE_HEADERS)
    return response
