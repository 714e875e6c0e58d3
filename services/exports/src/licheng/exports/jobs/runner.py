"""The worker's loop: take jobs off the `EXPORT_JOBS` work queue one at a time and run them.

While a job runs, the worker tells JetStream it is still working (`in_progress`) every third of
the ack wait. A worker that dies (SIGKILL, out of memory) stops doing that, so the job is
delivered to another worker after the ack wait, which runs it again from the start. A job that
fails for a reason no retry can fix ends failed at once; one that fails for a passing reason
(identity or storage away) is retried after a pause, up to `job_max_attempts`, then ends failed.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from licheng.contracts.events import STREAMS, EventEnvelope, ExportJobQueued
from licheng.exports.jobs.execute import JobContext, JobFailed, fail_job, run_job
from licheng.kit.background import BusyGuard, stop_task
from licheng.kit.events import until_jetstream_answers
from licheng.kit.safe_errors import safe_message

log = structlog.get_logger("licheng.exports.worker")

WORKER_DURABLE = "exports-worker"
RETRY_DELAY_SECONDS = 5.0


class JobRunner:
    """Pulls export jobs and runs each to its end."""

    def __init__(
        self,
        *,
        context: JobContext,
        jetstream: JetStreamContext,
        ack_wait_seconds: float,
        max_attempts: int,
    ) -> None:
        self._context = context
        self._js = jetstream
        self._ack_wait = ack_wait_seconds
        self._max_attempts = max_attempts
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._guard = BusyGuard()

    async def ensure_consumer(self) -> None:
        """Create or update the work queue's durable consumer."""
        config = ConsumerConfig(
            durable_name=WORKER_DURABLE,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            max_deliver=-1,  # attempts are counted on the job row, not here
            filter_subjects=list(STREAMS["export_jobs"].subjects),
        )
        await until_jetstream_answers(
            lambda: self._js.add_consumer(STREAMS["export_jobs"].name, config=config),
            what=f"consumer {WORKER_DURABLE}",
        )

    def start(self) -> None:
        """Run in the background."""
        self._task = asyncio.create_task(self._run(), name="exports-job-runner")

    async def stop(self) -> None:
        """Stop taking jobs; a job cut short is redelivered to another worker."""
        self._stopping = True
        if self._task is not None:
            await stop_task(self._task)
        self._task = None

    async def _run(self) -> None:
        subscription: JetStreamContext.PullSubscription | None = None
        while not self._stopping:
            try:
                if subscription is None:
                    await self.ensure_consumer()
                    subscription = await self._js.pull_subscribe_bind(
                        WORKER_DURABLE, stream=STREAMS["export_jobs"].name
                    )
                messages = await subscription.fetch(1, timeout=1.0)
            except (TimeoutError, NatsTimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS away: wait and re-bind
                log.warning("worker.fetch_failed", error=type(exc).__name__)
                subscription = None
                await asyncio.sleep(1.0)
                continue
            for message in messages:
                await self.handle(message)

    async def handle(self, message: Msg) -> None:
        """Run one job message to its end, keeping it ours meanwhile."""
        try:
            envelope = EventEnvelope.model_validate_json(message.data)
            job = ExportJobQueued.model_validate(envelope.data)
        except ValidationError:
            log.error("worker.malformed_job", subject=message.subject)
            await message.term()
            return
        heartbeat = asyncio.create_task(self._keep_alive(message))
        try:
            await run_job(self._context, job.job_id)
        except JobFailed as exc:
            log.warning("job.failed", job_id=str(job.job_id), code=exc.code)
            await fail_job(self._context, job.job_id, code=exc.code, reason=exc.message)
        except asyncio.CancelledError:
            raise  # stopping: not acked, so another worker takes it
        except Exception as exc:
            delivered = message.metadata.num_delivered or 1
            log.warning(
                "job.attempt_failed",
                job_id=str(job.job_id),
                delivered=delivered,
                error=type(exc).__name__,
            )
            if delivered < self._max_attempts:
                await message.nak(delay=RETRY_DELAY_SECONDS)
                return
            await fail_job(
                self._context, job.job_id, code="job_error", reason=safe_message(exc)[:300]
            )
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        await message.ack()

    async def _keep_alive(self, message: Msg) -> None:
        while True:
            await asyncio.sleep(self._ack_wait / 3)
            with contextlib.suppress(Exception):
                await message.in_progress()
