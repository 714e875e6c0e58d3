"""Request body size limits per route (413), enforced while the body streams through.

A declared `Content-Length` over the limit is refused before a byte of the body is read or the
service is contacted; a body without a length is counted as it streams to the service and cut
off once over. Nothing is buffered.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping

from fastapi import Request

from licheng.kit.errors import BadRequest, PayloadTooLarge

MIB = 1024 * 1024


def too_large(limit: int) -> PayloadTooLarge:
    """The 413 naming the limit in MB."""
    return PayloadTooLarge(
        f"上傳內容超過大小上限（{limit / MIB:g} MB）", detail={"limit_bytes": limit}
    )


class BodyLimits:
    """The byte limit of each path: the first matching pattern's, else the default."""

    def __init__(self, default: int, routes: Mapping[str, int]) -> None:
        self.default = default
        self._routes = [(re.compile(pattern), limit) for pattern, limit in routes.items()]

    def for_path(self, path: str) -> int:
        """The limit for a request to `path`."""
        for pattern, limit in self._routes:
            if pattern.search(path):
                return limit
        return self.default


def has_body(request: Request) -> bool:
    """Whether the request carries a body at all (HTTP/1.1 framing says so by these headers)."""
    return "content-length" in request.headers or "transfer-encoding" in request.headers


def limited_body(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The body as it arrives; 413 at once when its declared length is over `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadRequest("Content-Length 格式不正確", code="bad_content_length")
        if int(declared) > limit:
            raise too_large(limit)
    return _counted(request.stream(), limit)


async def _counted(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            raise too_large(limit)
        yield chunk
