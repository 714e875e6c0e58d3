"""Per-client rate limits with the `limits` library (moving window), answered with 429.

A caller with a valid token is counted by its subject, anyone else by client address; sign-in
paths have a stricter limit of their own, per address. The portal's pages have limits of their
own: per portal session once signed in, else per address with an allowance sized for a whole
school behind one NAT address; its static assets are not counted. The moving window (rather than the
cheaper sliding-window counter) makes `Retry-After` exact: the moment the oldest hit leaves the
window.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import limits
import structlog
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from licheng.gateway.caller import Caller
from licheng.kit.errors import AppError

log = structlog.get_logger("licheng.gateway.rate_limit")

KEY_PREFIX = "gateway"


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"
    default_message = "請求過於頻繁，請稍後再試"


@dataclass(frozen=True)
class Quota:
    """What is left of the caller's limit after this request."""

    limit: int
    remaining: int

    def headers(self) -> dict[str, str]:
        """`X-RateLimit-*` response headers."""
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining)}


def async_storage(uri: str) -> Storage:
    """The asynchronous `limits` storage for a URI such as `memory://` or `redis://host:6379`."""
    scheme_uri = uri if uri.startswith("async+") else f"async+{uri}"
    # Errors of a shared store are wrapped so that `hit` can tell them apart and fail open.
    storage = storage_from_string(scheme_uri, wrap_exceptions=True)
    if not isinstance(storage, Storage):
        raise ValueError(f"{uri!r} is not an asynchronous rate limit storage")
    return storage


class RateLimiter:
    """Counts each request against the caller's limit; raises RateLimited when over it."""

    def __init__(
        self,
        storage: Storage,
        *,
        authenticated: str,
        anonymous: str,
        sign_in: str,
        sign_in_paths: Sequence[str],
        portal: str = "3000/minute",
        portal_session: str = "300/minute",
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._authenticated = limits.parse(authenticated)
        self._anonymous = limits.parse(anonymous)
        self._sign_in = limits.parse(sign_in)
        self._sign_in_paths = tuple(sign_in_paths)
        self._portal = limits.parse(portal)
        self._portal_session = limits.parse(portal_session)

    def _rule(
        self, path: str, caller: Caller, portal_session: str | None
    ) -> tuple[limits.RateLimitItem, tuple[str, ...]]:
        if not path.startswith("/api/"):
            if portal_session:
                digest = hashlib.sha256(portal_session.encode()).hexdigest()[:32]
                return self._portal_session, (KEY_PREFIX, "portal-session", digest)
            return self._portal, (KEY_PREFIX, "portal", caller.address)
        if path.startswith(self._sign_in_paths):
            return self._sign_in, (KEY_PREFIX, "sign-in", caller.address)
        if caller.subject is not None:
            return self._authenticated, (KEY_PREFIX, "subject", caller.subject)
        return self._anonymous, (KEY_PREFIX, "address", caller.address)

    async def hit(
        self, path: str, caller: Caller, *, portal_session: str | None = None
    ) -> Quota | None:
        """Count the request; None when the store cannot answer (the request goes through)."""
        item, identifiers = self._rule(path, caller, portal_session)
        try:
            allowed = await self._limiter.hit(item, *identifiers)
            stats = await self._limiter.get_window_stats(item, *identifiers)
        except StorageError as exc:
            # An unreachable shared store must not take the whole suite down with it.
            log.warning("rate_limit.storage_unavailable", error=type(exc.storage_error).__name__)
            return None
        quota = Quota(limit=item.amount, remaining=max(0, stats.remaining))
        if not allowed:
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise RateLimited(
                detail={"retry_after_seconds": retry_after},
                headers={"Retry-After": str(retry_after), **quota.headers()},
            )
        return quota
