"""The exports worker: a separate process taking export jobs off the `EXPORT_JOBS` work queue.

It scales apart from the API during export windows: run as many copies as the backlog needs;
each job goes to one of them, and a job whose worker dies goes to another (jobs/runner.py).
"""

from __future__ import annotations

from fastapi import FastAPI

from licheng.exports.identifiers import IdentityIdentifiers
from licheng.exports.jobs.execute import JobContext
from licheng.exports.jobs.runner import JobRunner
from licheng.exports.models import Submission, SubmissionState
from licheng.exports.rosters.build import IdentifierSource
from licheng.exports.settings import Settings
from licheng.kit.object_sweep import ObjectReference
from licheng.kit.service import ServiceDefinition, StopHook, create_service_app
from licheng.kit.service_tokens import ClientCredentials

# The workers put the packages: a completed submission's stays for good; one a failed or
# refused run left behind is swept after the grace.
OBJECT_REFERENCES = (
    ObjectReference(Submission.object_key, Submission.state == SubmissionState.COMPLETED),
)


def create_worker_app(
    settings: Settings | None = None, *, identifiers: IdentifierSource | None = None
) -> FastAPI:
    """Build the worker process (health and metrics over HTTP, jobs over NATS).

    `identifiers` defaults to identity's internal endpoint with our client credentials.
    """
    settings = settings or Settings()

    async def start_runner(app: FastAPI) -> StopHook:
        source = identifiers or IdentityIdentifiers(
            identity_url=settings.identity_url,
            tokens=ClientCredentials(
                token_url=settings.token_url,
                client_id=settings.client_id,
                client_secret=settings.client_secret,
            ),
        )
        runner = JobRunner(
            context=JobContext(
                session_factory=app.state.session_factory,
                storage=app.state.storage,
                uploads_bucket=settings.uploads_bucket,
                exports_bucket=settings.exports_bucket,
                identifiers=source,
            ),
            jetstream=app.state.jetstream,
            ack_wait_seconds=settings.job_ack_wait_seconds,
            max_attempts=settings.job_max_attempts,
        )
        await runner.ensure_consumer()
        runner.start()

        return runner.stop

    return create_service_app(
        ServiceDefinition(
            name="exports_worker",
            title="Licheng exports worker",
            settings=settings,
            event_stream="exports",
            streams=("export_jobs",),
            on_startup=[start_runner],
            object_references=OBJECT_REFERENCES,
        )
    )
