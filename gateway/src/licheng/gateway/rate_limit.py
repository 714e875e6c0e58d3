"""Per-client rate limits with the `limits` library (moving window), answered with 429.

A caller with a valid token is counted by its subject, anyone else by client address; sign-in
paths have a stricter limit of their own, per address. The portal's pages have limits of their
own: per portal session once signed in, else per address with an allowance sized for a whole
school behind one NAT address; its static assets are not counted. The moving window (rather than the
cheaper sliding-window counter) makes `Retry-After` exact: the moment the oldest hit leaves the
window.

Where the counts live: `memory://` keeps them in this process (the embedded run, one gateway),
in `LocalMovingWindow` below; a URI of one of the `limits` library's shared stores
(`redis://host:6379`, through redis-py's asyncio client) keeps them where every replica counts
against the same window. docs/gateway.md says how to choose.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import limits
import structlog
from limits.aio.storage import MovingWindowSupport, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from licheng.gateway.caller import Caller
from licheng.kit.errors import AppError

log = structlog.get_logger("licheng.gateway.rate_limit")

KEY_PREFIX = "gateway"
MEMORY_URIS = frozenset({"memory://", "async+memory://"})
# How often keys nobody used for a whole window are dropped from the in-process store.
SWEEP_SECONDS = 60.0


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


class LocalMovingWindow(Storage, MovingWindowSupport):
    """Moving windows in this process: per key, a deque of the hit times inside the window.

    Used for `memory://` instead of `limits`' own asynchronous memory storage, which copies a
    key's whole list of hits and hands the work to a worker thread on every hit (a thread hop
    per request, measured in docs/gateway.md). Here expired hits leave from the front of the
    deque when the key is next used, and keys idle for a whole window are swept now and then.
    """

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        self._hits: dict[str, deque[float]] = {}
        self._windows: dict[str, int] = {}
        self._next_sweep = time.time() + SWEEP_SECONDS
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """Nothing here fails like a remote store does."""
        return ()

    def _current(self, key: str, expiry: int, now: float) -> deque[float]:
        if now >= self._next_sweep:
            self._sweep(now)
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            self._windows[key] = expiry
        oldest_allowed = now - expiry
        while hits and hits[0] < oldest_allowed:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_SECONDS
        idle = [
            key
            for key, hits in self._hits.items()
            if not hits or hits[-1] < now - self._windows[key]
        ]
        for key in idle:
            del self._hits[key], self._windows[key]

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Count `amount` hits unless that would exceed `limit` within the window."""
        now = time.time()
        hits = self._current(key, expiry, now)
        if len(hits) + amount > limit:
            return False
        hits.extend([now] * amount)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """The oldest hit still in the window (now, if none) and how many there are."""
        now = time.time()
        hits = self._current(key, expiry, now)
        return (hits[0], len(hits)) if hits else (now, 0)

    async def clear(self, key: str) -> None:
        """Forget the key's hits."""
        self._hits.pop(key, None)
        self._windows.pop(key, None)

    async def reset(self) -> int | None:
        """Forget every key; how many there were."""
        count = len(self._hits)
        self._hits.clear()
        self._windows.clear()
        return count

    async def check(self) -> bool:
        """Always reachable."""
        return True

    # Fixed-window counters: the gateway counts in moving windows only.
    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Not used: the gateway's limits are moving windows."""
        raise NotImplementedError("LocalMovingWindow keeps moving windows only")

    async def get(self, key: str) -> int:
        """Not used: the gateway's limits are moving windows."""
        raise NotImplementedError("LocalMovingWindow keeps moving windows only")

    async def get_expiry(self, key: str) -> float:
        """Not used: the gateway's limits are moving windows."""
        raise NotImplementedError("LocalMovingWindow keeps moving windows only")


def async_storage(uri: str) -> Storage:
    """The store for a URI: `memory://` (this process) or one of `limits`' shared ones such as
    `redis://host:6379`."""
    if uri in MEMORY_URIS:
        return LocalMovingWindow()
    scheme_uri = uri if uri.startswith("async+") else f"async+{uri}"
    # Redis through redis-py's asyncio client (the `limits[redis]` extra), not coredis.
    options = {"implementation": "redispy"} if scheme_uri.startswith("async+redis") else {}
    # Errors of a shared store are wrapped so that `hit` can tell them apart and fail open.
    storage = storage_from_string(scheme_uri, wrap_exceptions=True, **options)
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
