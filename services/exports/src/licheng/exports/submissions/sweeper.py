"""The saga's clock: a run whose owner never locks ends failed after `lock_timeout_seconds`."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog
from sqlalchemy.exc import DBAPIError

from licheng.exports.submissions.saga import expire_waiting
from licheng.kit.background import BusyGuard
from licheng.kit.db import SessionFactory

log = structlog.get_logger("licheng.exports.sweeper")


class LockTimeoutSweeper:
    """Fails the runs left waiting for their owner's lock, every `interval` seconds."""

    def __init__(
        self, *, session_factory: SessionFactory, timeout: timedelta, interval: float
    ) -> None:
        self._session_factory = session_factory
        self._timeout = timeout
        self._interval = interval
        self._guard = BusyGuard()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Sweep in the background."""
        self._task = asyncio.create_task(self._run(), name="exports-lock-sweeper")

    async def stop(self) -> None:
        """Stop between sweeps."""
        await self._guard.stop(self._task)
        self._task = None

    async def sweep(self) -> int:
        """One sweep; how many runs it failed."""
        async with self._session_factory() as session:
            failed = await expire_waiting(session, timeout=self._timeout)
            await session.commit()
        if failed:
            log.warning("saga.owner_timeout", submissions=failed)
        return failed

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(DBAPIError, OSError, TimeoutError), self._guard.busy():
                await self.sweep()
            await asyncio.sleep(self._interval)
