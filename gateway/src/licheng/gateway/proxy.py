"""Streaming reverse proxy to the services and the portal.

Bodies stream through in both directions, never buffered whole. A service that does not answer
gives a clear 503; one that answers too slowly a 504.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from licheng.kit.errors import AppError, ServiceUnavailable

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class GatewayTimeout(AppError):
    status_code = 504
    code = "upstream_timeout"
    default_message = "服務回應逾時，請稍後再試"


def _forwardable(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]


async def forward(
    client: httpx.AsyncClient, request: Request, *, base_url: str, service: str
) -> StreamingResponse:
    """Send the request on to `base_url` (same path and query) and stream the answer back."""
    headers = _forwardable(request.headers.items())
    request_id = request.scope.get("licheng.request_id")
    client_host = request.client.host if request.client else ""
    headers.append(("x-forwarded-for", client_host))
    headers.append(("x-forwarded-proto", request.url.scheme))
    if request_id:
        headers.append(("x-request-id", str(request_id)))
    url = httpx.URL(base_url).join(request.url.path)
    if request.url.query:
        url = url.copy_with(query=request.url.query.encode())
    upstream = client.build_request(request.method, url, headers=headers, content=request.stream())
    try:
        response = await client.send(upstream, stream=True)
    except httpx.TimeoutException as exc:
        raise GatewayTimeout(detail={"service": service}) from exc
    except httpx.TransportError as exc:
        raise ServiceUnavailable(
            f"「{service}」服務暫時無法使用，請稍後再試", detail={"service": service}
        ) from exc
    return StreamingResponse(
        response.aiter_raw(),
        status_code=response.status_code,
        headers=dict(_forwardable(response.headers.multi_items())),
        background=BackgroundTask(response.aclose),
    )
