"""Background loops (outbox relay, consumers) that stop without cutting a transaction in half.

A loop marks the stretches where it talks to the database as busy. Stopping waits for the busy
stretch in progress to end (bounded), and only then cancels the loop, which by then is waiting
on NATS or a timer. Cancelling in the middle of a transaction would leave the pool to roll back
a connection from a cancelled task (SQLAlchemy logs that as an error, and on SQLite it can leave
the write lock held until the process ends).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

DRAIN_SECONDS = 10.0


async def stop_task(task: asyncio.Task[None], *, grace_seconds: float = 5.0) -> None:
    """Cancel a background loop and wait for it, cancelling again if a library ate the first."""
    while not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            async with asyncio.timeout(grace_seconds):
                await asyncio.shield(task)


class BusyGuard:
    """Tracks whether a loop is inside a stretch that must not be cancelled."""

    def __init__(self) -> None:
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Mark the enclosed stretch (a transaction, an apply-and-ack) as busy."""
        self._idle.clear()
        try:
            yield
        finally:
            self._idle.set()

    async def stop(self, task: asyncio.Task[None] | None) -> None:
        """Let the busy stretch in progress end, then cancel `task`."""
        if task is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_SECONDS):
                await self._idle.wait()
        await stop_task(task)
