"""Streaming reverse proxy to the services and the portal.

Bodies stream through in both directions, never buffered whole. A service that cannot be
reached gives a clear 503; one that answers too slowly a 504. The connection to the service is
closed however the response ends (sent, client gone, or broken).
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio
import httpx
import structlog
from fastapi import Request
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

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


class GatewayTimeout(AppError):
    status_code = 504
    code = "upstream_timeout"
    default_message = "服務回應逾時，請稍後再試"


class ClientClosedRequest(AppError):
    # nginx's 499: nobody reads this answer, but logs and metrics show what happened.
    status_code = 499
    code = "client_closed_request"
    default_message = "連線已中斷"


def _unavailable(service: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"「{service}」服務暫時無法使用，請稍後再試", detail={"service": service}
    )


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


def _upstream_headers(request: Request, trusted_proxy_hops: int) -> RawHeaders:
    raw = request.headers.raw
    headers = end_to_end(raw, REBUILT_REQUEST_HEADERS)
    if "transfer-encoding" in request.headers:
        # The body is framed in chunks; a Content-Length beside it is not to be believed.
        headers = [(name, value) for name, value in headers if name != b"content-length"]
    if b"accept-encoding" not in {name for name, _ in headers}:
        # Else the HTTP client asks for gzip on the caller's behalf and the raw bytes passed
        # back would be compressed for a caller that never said it could read them.
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
    return headers


def _upstream_url(request: Request, base_url: str) -> httpx.URL:
    # The path exactly as the client encoded it: decoding and re-encoding would turn an
    # escaped `/` or `?` into a real one.
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return httpx.URL(base_url).copy_with(raw_path=raw_path + (b"?" + query if query else b""))


class UpstreamResponse(StreamingResponse):
    """A service's answer streamed back, every header kept (several Set-Cookie included)."""

    def __init__(self, upstream: httpx.Response, service: str) -> None:
        super().__init__(upstream.aiter_raw(), status_code=upstream.status_code)
        self.raw_headers = end_to_end(upstream.headers.raw, REBUILT_RESPONSE_HEADERS)
        self.upstream = upstream
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except httpx.HTTPError as exc:
            # Too late for an error body: the status line is out. Breaking the connection is
            # the only way left to tell the client the body is incomplete.
            log.warning("proxy.upstream_broke", upstream=self.service, error=type(exc).__name__)
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await self.upstream.aclose()


async def forward(
    client: httpx.AsyncClient,
    request: Request,
    *,
    base_url: str,
    service: str,
    max_body_bytes: int,
    trusted_proxy_hops: int = 0,
) -> StreamingResponse:
    """Send the request on to `base_url` (same path and query) and stream the answer back."""
    # Raises 413 here, before the service is contacted, when the declared length is too big.
    body = limited_body(request, max_body_bytes) if has_body(request) else None
    # A body-less GET or HEAD is tried once more when the connection breaks before any answer:
    # most often a kept-alive connection the service closed just as we reused it.
    attempts = 2 if body is None and request.method in ("GET", "HEAD") else 1
    for attempt in range(1, attempts + 1):
        upstream = client.build_request(
            request.method,
            _upstream_url(request, base_url),
            headers=_upstream_headers(request, trusted_proxy_hops),
            content=body,
        )
        try:
            response = await client.send(upstream, stream=True)
            break
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing answered at all: the service is as good as down.
            raise _unavailable(service) from exc
        except httpx.TimeoutException as exc:
            raise GatewayTimeout(detail={"service": service}) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            if attempt < attempts:
                continue
            raise _unavailable(service) from exc
        except httpx.TransportError as exc:
            raise _unavailable(service) from exc
        except ClientDisconnect as exc:
            raise ClientClosedRequest() from exc
    return UpstreamResponse(response, service)
