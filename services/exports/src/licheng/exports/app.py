"""The exports service's app factory."""

from __future__ import annotations

from fastapi import FastAPI

from licheng.exports.portfolio.router import router as portfolio_router
from licheng.exports.readmodel.events import outcomes_consumer, performances_consumer
from licheng.exports.receipts.router import router as receipts_router
from licheng.exports.settings import Settings
from licheng.exports.submissions.router import router as submissions_router
from licheng.exports.submissions.service import lock_timeout
from licheng.exports.submissions.sweeper import LockTimeoutSweeper
from licheng.kit.roster import roster_consumer
from licheng.kit.service import ServiceDefinition, StopHook, create_service_app

ROSTER_DURABLE = "exports-roster"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the exports service."""
    settings = settings or Settings()

    async def start_sweeper(app: FastAPI) -> StopHook:
        sweeper = LockTimeoutSweeper(
            session_factory=app.state.session_factory,
            timeout=lock_timeout(settings.lock_timeout_seconds),
            interval=settings.sweep_interval_seconds,
        )
        sweeper.start()
        return sweeper.stop

    return create_service_app(
        ServiceDefinition(
            name="exports",
            title="Licheng exports: read model, roster submissions, export jobs",
            settings=settings,
            idempotency=True,
            event_stream="exports",
            # The streams we consume are ensured too, so our consumers attach in any start order.
            streams=("identity", "course_outcomes", "performances", "export_jobs"),
            routers=[submissions_router, portfolio_router, receipts_router],
            consumers=[
                roster_consumer(durable=ROSTER_DURABLE),
                outcomes_consumer(),
                performances_consumer(),
            ],
            on_startup=[start_sweeper],
        )
    )
