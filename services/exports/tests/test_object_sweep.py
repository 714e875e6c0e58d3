"""The exports workers sweep the packages of runs that did not complete: a failed run's package
goes a grace period later, a completed (submitted) run's package stays for good."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient

from licheng.exports.cli import MIGRATIONS_DIR
from licheng.exports.jobs.execute import package_key
from licheng.exports.models import Submission, SubmissionState
from licheng.exports.settings import Settings
from licheng.exports.submissions import saga
from licheng.exports.worker import create_worker_app
from licheng.kit.object_sweep import ObjectSweeper
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.services import ServiceApi, running_service


class WorkerApi(ServiceApi):
    service_path = "exports"


@pytest.fixture
async def worker(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    issuer: TestIssuer,
    nats_client: NatsClient,
) -> AsyncIterator[WorkerApi]:
    """An exports worker (no job is queued: the runs are played by the test)."""
    url = await migrated_database(MIGRATIONS_DIR, "exports")
    async with running_service(
        WorkerApi,
        create_worker_app,
        Settings,
        database_url=url,
        infra=infra,
        issuer=issuer,
        nats_client=nats_client,
    ) as api:
        yield api


async def _built(worker: WorkerApi, semester: int, tmp_path: Path) -> tuple[Submission, str]:
    """A run in the building state whose package the worker has just put, as a job does."""
    run = Submission(
        school_code=worker.school,
        roster_code="26",
        academic_year=115,
        semester=semester,
        state=SubmissionState.BUILDING,
        locked_at=datetime.now(UTC),
    )
    async with worker.app.state.session_factory() as session:
        session.add(run)
        await session.commit()
        await session.refresh(run)
    package = tmp_path / f"{semester}.zip"
    package.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty ZIP
    key = package_key(run)
    await worker.app.state.storage.put_file(
        bucket=worker.app.state.settings.exports_bucket,
        key=key,
        path=package,
        content_type="application/zip",
    )
    return run, key


async def test_a_failed_runs_package_is_swept_and_a_submitted_one_stays(
    worker: WorkerApi, tmp_path: Path
) -> None:
    app = worker.app
    storage, bucket = app.state.storage, app.state.settings.exports_bucket
    completed, submitted_key = await _built(worker, 1, tmp_path)
    failed, refused_key = await _built(worker, 2, tmp_path)
    async with app.state.session_factory() as session:
        assert await saga.complete(
            session, completed, content_hash="0" * 64, object_key=submitted_key, counts={}
        )
        # e.g. the owner reopened meanwhile: the saga refuses the build it had already put
        assert await saga.fail(session, failed, code="refused", reason="測試：建置被拒")
        await session.commit()

    sweeper = ObjectSweeper(
        service="exports_worker",
        session_factory=app.state.session_factory,
        storage=storage,
        references=app.state.definition.object_references,
        grace=timedelta(0),  # the test's grace: gone on the pass after the one that marks
    )
    assert await sweeper.sweep() == 0
    assert await sweeper.sweep() == 1
    assert not await storage.exists(bucket=bucket, key=refused_key)
    assert await storage.exists(bucket=bucket, key=submitted_key)
    assert await sweeper.sweep() == 0
    assert await storage.exists(bucket=bucket, key=submitted_key)
    await storage.remove(bucket=bucket, key=submitted_key)  # the shared test bucket stays small
