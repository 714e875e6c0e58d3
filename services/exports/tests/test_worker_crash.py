"""A worker killed with SIGKILL in the middle of a roster job: another worker finishes the job
after the ack wait, and the package it makes has the content hash a clean build has. And at
scale: two worker processes on a 3-node NATS JetStream cluster share several schools' jobs, and
killing one worker and one NATS server mid-run loses no job and completes each exactly once.

Identity runs for real (its development issuer signs the workers' service tokens, as in the
embedded run); the first worker is a real `licheng-exports worker` process; the read model is
seeded directly, since what is under test is the job, not the events that fill the model.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from licheng.contracts.events import ExportJobQueued
from licheng.contracts.rosters import RosterCode
from licheng.exports.cli import MIGRATIONS_DIR
from licheng.exports.identifiers import IdentityIdentifiers
from licheng.exports.jobs.repository import get_job
from licheng.exports.models import (
    ExportJob,
    JobKind,
    JobState,
    OutcomeRow,
    Submission,
    SubmissionState,
)
from licheng.exports.rosters.build import RosterTerm, build_roster, remove_built
from licheng.exports.settings import Settings as ExportsSettings
from licheng.exports.worker import create_worker_app
from licheng.identity.app import create_app as create_identity
from licheng.identity.cli import MIGRATIONS_DIR as IDENTITY_MIGRATIONS
from licheng.identity.settings import Settings as IdentitySettings
from licheng.kit.db import create_engine, create_session_factory
from licheng.kit.events import connect_nats, ensure_streams
from licheng.kit.roster import KnownPerson, PersonKind
from licheng.kit.service_tokens import ClientCredentials
from licheng.kit.storage import ObjectStorage
from licheng.testing.apps import service_settings, serving
from licheng.testing.fixtures import MigratedDatabaseFactory
from licheng.testing.infra import TestInfra
from licheng.testing.servers import NatsCluster, free_port

STUDENTS = 40
SCHOOLS = 4
SCALE_STUDENTS = 10  # per school in the scale-out test: several jobs matter there, not size
FILE = b"%PDF-1.7\n" + os.urandom(400_000)
SHA = hashlib.sha256(FILE).hexdigest()
LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def national_id(n: int) -> str:
    """A valid 身分證號 for the n-th test student."""
    body = f"1{n:07d}"
    code = LETTERS.index("A") + 10
    digits = [code // 10, code % 10, *(int(c) for c in body)]
    total = sum(w * d for w, d in zip([1, 9, 8, 7, 6, 5, 4, 3, 2, 1], digits, strict=True))
    return f"A{body}{(10 - total % 10) % 10}"


async def test_a_killed_worker_leaves_its_job_to_another_with_the_same_hash(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    storage: ObjectStorage,
    nats_client: object,
    tmp_path: Path,
) -> None:
    identity_db = await migrated_database(IDENTITY_MIGRATIONS, "crash_identity")
    exports_db = await migrated_database(MIGRATIONS_DIR, "crash_exports")
    port = free_port()
    identity_url = f"http://127.0.0.1:{port}"
    dev_jwks = f"{identity_url}/api/identity/v1/dev-auth/jwks"
    identity = create_identity(
        service_settings(IdentitySettings, infra=infra, database_url=identity_db,
                         jwks_url=dev_jwks, issuer=f"{identity_url}/dev-issuer")
    )  # fmt: skip
    settings = service_settings(
        ExportsSettings,
        infra=infra,
        database_url=exports_db,
        jwks_url=dev_jwks,
        issuer=f"{identity_url}/dev-issuer",
        identity_url=identity_url,
        token_url=f"{identity_url}/api/identity/v1/dev-auth/service-token",
        job_ack_wait_seconds=3.0,
    )
    async with serving(identity, port), httpx.AsyncClient(timeout=30) as http:
        school, ids = await _school_with_students(http, identity_url)
        engine = create_engine(exports_db)
        sessions = create_session_factory(engine)
        job_id = await _seed_roster_job(sessions, storage, settings, school, ids)
        js = nats_client.jetstream()  # type: ignore[attr-defined]
        await ensure_streams(js, "export_jobs")
        queued = ExportJobQueued(job_id=job_id, kind="roster").envelope(
            school_code=school, actor_id=None
        )
        await js.publish(queued.subject, queued.model_dump_json().encode())

        first = _start_worker_process(settings, tmp_path)
        try:
            job = await _wait_for(sessions, job_id, lambda j: j.state is JobState.RUNNING
                                  and j.total > 0, "the first worker to start")  # fmt: skip
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        async with sessions() as session:
            interrupted = await get_job(session, job_id)
        assert interrupted is not None
        assert interrupted.state is JobState.RUNNING
        assert interrupted.done < interrupted.total
        assert interrupted.attempts == 1
        del job

        tokens = ClientCredentials(
            token_url=settings.token_url, client_id="licheng-exports",
            client_secret=SecretStr("licheng-dev-service-secret"),
        )  # fmt: skip
        identifiers = IdentityIdentifiers(identity_url=identity_url, tokens=tokens)
        async with serving(create_worker_app(settings, identifiers=identifiers)):
            done = await _wait_for(
                sessions, job_id, lambda j: j.state is JobState.DONE, "the second worker"
            )
        assert done.attempts == 2
        async with sessions() as session:
            submission = await session.get(Submission, done.submission_id)
        assert submission is not None
        assert submission.state is SubmissionState.COMPLETED
        assert submission.content_hash == done.content_hash
        stored = await storage.read(bucket=settings.exports_bucket, key=str(done.object_key))
        assert hashlib.sha256(stored).hexdigest() == done.content_hash

        clean = await build_roster(
            sessions,
            term=RosterTerm(school, RosterCode.COURSE_OUTCOMES, 115, 1),
            storage=storage,
            uploads_bucket=settings.uploads_bucket,
            identifiers=identifiers,
            fixed_time=submission.locked_at or datetime.now(UTC),
            purpose="test",
            progress=_ignore,
        )
        remove_built(clean)
        assert clean.content_hash == done.content_hash
        assert clean.counts["rows"] == STUDENTS
        await engine.dispose()


@pytest.mark.postgresql_only(reason="two worker processes share one database, as in a district")
async def test_two_workers_on_a_nats_cluster_share_jobs_and_survive_losing_one_of_each(
    infra: TestInfra,
    migrated_database: MigratedDatabaseFactory,
    storage: ObjectStorage,
    tmp_path: Path,
) -> None:
    cluster = NatsCluster(infra.nats_server_bin, tmp_path / "nats")
    cluster.start()
    workers: list[subprocess.Popen[bytes]] = []
    engine: AsyncEngine | None = None
    client: NatsClient | None = None
    try:
        identity_db = await migrated_database(IDENTITY_MIGRATIONS, "scale_identity")
        exports_db = await migrated_database(MIGRATIONS_DIR, "scale_exports")
        port = free_port()
        identity_url = f"http://127.0.0.1:{port}"
        dev_jwks = f"{identity_url}/api/identity/v1/dev-auth/jwks"
        identity = create_identity(
            service_settings(IdentitySettings, infra=infra, database_url=identity_db,
                             jwks_url=dev_jwks, issuer=f"{identity_url}/dev-issuer")
        )  # fmt: skip
        settings = service_settings(
            ExportsSettings,
            infra=infra,
            database_url=exports_db,
            jwks_url=dev_jwks,
            issuer=f"{identity_url}/dev-issuer",
            identity_url=identity_url,
            token_url=f"{identity_url}/api/identity/v1/dev-auth/service-token",
            job_ack_wait_seconds=3.0,
        ).model_copy(update={"nats_url": cluster.url, "nats_stream_replicas": 3})
        engine = create_engine(exports_db)
        sessions = create_session_factory(engine)
        client = await connect_nats(cluster.url, name="scale-test")
        async with serving(identity, port), httpx.AsyncClient(timeout=30) as http:
            jobs: list[uuid.UUID] = []
            for _ in range(SCHOOLS):
                school, ids = await _school_with_students(http, identity_url, SCALE_STUDENTS)
                jobs.append(await _seed_roster_job(sessions, storage, settings, school, ids))
            js = client.jetstream()
            await ensure_streams(js, "export_jobs", replicas=3)
            workers = [_start_worker_process(settings, tmp_path, f"worker-{n}") for n in (1, 2)]
            for n in (1, 2):  # both take jobs before anything dies
                await _started(tmp_path / f"worker-{n}.log", workers[n - 1])
            for job_id, school in zip(jobs, await _schools_of(sessions, jobs), strict=True):
                queued = ExportJobQueued(job_id=job_id, kind="roster").envelope(
                    school_code=school, actor_id=None
                )
                await js.publish(queued.subject, queued.model_dump_json().encode())

            # As soon as a job runs, one worker and one NATS server die; the server comes back.
            await _wait_for(sessions, jobs[0], lambda j: j.state is not JobState.QUEUED,
                            "a worker to take the first job", any_of=jobs)  # fmt: skip
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].wait(timeout=10)
            cluster.servers[0].kill()
            await asyncio.sleep(2)
            cluster.servers[0].start()

            finished = []
            for job_id in jobs:
                done = await _wait_for(
                    sessions,
                    job_id,
                    lambda j: j.state is JobState.DONE,
                    "every job",
                    timeout=240,
                    also=lambda: _jobs_and_log(sessions, jobs, tmp_path / "worker-2.log"),
                )
                finished.append(done)
        for job in finished:
            assert job.attempts in (1, 2)  # a second attempt only for the killed worker's job
            async with sessions() as session:
                submission = await session.get(Submission, job.submission_id)
            assert submission is not None
            assert submission.state is SubmissionState.COMPLETED
            assert submission.content_hash == job.content_hash
            stored = await storage.read(bucket=settings.exports_bucket, key=str(job.object_key))
            assert hashlib.sha256(stored).hexdigest() == job.content_hash
        async with sessions() as session:
            submissions = (await session.exec(select(Submission))).all()
        assert len(submissions) == SCHOOLS  # one run each: nothing done twice over
        assert sum(job.attempts for job in finished) <= SCHOOLS + 1
        survivor = (tmp_path / "worker-2.log").read_text(errors="replace")
        assert '"level": "error"' not in survivor, survivor[-3000:]
    finally:
        if client is not None:
            await client.close()
        if engine is not None:
            await engine.dispose()
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
        cluster.stop()


async def _started(log: Path, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while True:
        text = await asyncio.to_thread(log.read_text, errors="replace")
        if "Application startup complete" in text:
            return
        assert worker.poll() is None, text[-3000:]
        assert time.monotonic() < deadline, text[-3000:]
        await asyncio.sleep(0.2)


async def _jobs_and_log(sessions: object, jobs: list[uuid.UUID], log: Path) -> str:
    states = []
    async with sessions() as session:  # type: ignore[operator]
        for job_id in jobs:
            job = await get_job(session, job_id)
            assert job is not None
            states.append(f"{job.id} {job.state} {job.done}/{job.total} attempts={job.attempts}")
    tail = await asyncio.to_thread(log.read_text, errors="replace")
    return "\n".join(states) + "\n" + tail[-3000:]


async def _schools_of(sessions: object, jobs: list[uuid.UUID]) -> list[str]:
    found = []
    async with sessions() as session:  # type: ignore[operator]
        for job_id in jobs:
            job = await get_job(session, job_id)
            assert job is not None
            found.append(job.school_code)
    return found


async def _school_with_students(
    http: httpx.AsyncClient, identity_url: str, students: int = STUDENTS
) -> tuple[str, list[uuid.UUID]]:
    """A school in identity with `students` students; their person ids in 座號 order."""
    api = f"{identity_url}/api/identity/v1"

    async def sign_in(username: str) -> dict[str, str]:
        answer = await http.post(f"{api}/dev-auth/token",
                                 json={"username": username, "password": "demo"})  # fmt: skip
        assert answer.status_code == 200, answer.text
        return {"authorization": f"Bearer {answer.json()['access_token']}"}

    school = f"{uuid.uuid4().int % 10**6:06d}"
    created = await http.post(
        f"{api}/schools",
        headers=await sign_in("operator"),
        json={"code": school, "name": "測試高中", "academic_year": 115, "semester": 1,
              "admin": {"staff_no": "A1", "name": "管理者"}},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    admin = await sign_in(created.json()["admin_username"])
    students = "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n" + "".join(
        f"{110001 + n},學生{n},101,{n + 1},{national_id(n)},0970501,在籍\n" for n in range(students)
    )
    for kind, text in (("classes", "班級代碼,年級,班級名稱,導師\n101,1,普一甲,\n"),
                       ("students", students)):  # fmt: skip
        imported = await http.post(f"{api}/schools/{school}/imports/{kind}", headers=admin,
                                   files={"file": (f"{kind}.csv", text.encode())})  # fmt: skip
        assert imported.status_code == 200, imported.text
    listed = await http.get(f"{api}/schools/{school}/students", headers=admin,
                            params={"limit": 200})  # fmt: skip
    people = sorted(listed.json()["items"], key=lambda p: p["local_no"])
    return school, [uuid.UUID(p["id"]) for p in people]


async def _seed_roster_job(
    sessions: object,
    storage: ObjectStorage,
    settings: ExportsSettings,
    school: str,
    ids: list[uuid.UUID],
) -> uuid.UUID:
    """The read model of a locked term: one selected outcome with a file per student, and a
    submission whose roster job is queued; the job's id."""
    submission_id, job_id = uuid.uuid4(), uuid.uuid4()
    async with sessions() as session:  # type: ignore[operator]
        for n, student_id in enumerate(ids):
            outcome_id = uuid.uuid4()
            key = f"{school}/{student_id}/{outcome_id}/{'0' * 64}"
            await asyncio.to_thread(
                storage.client.put_object, settings.uploads_bucket, key, io.BytesIO(FILE),
                len(FILE),
            )  # fmt: skip
            session.add(KnownPerson(id=student_id, school_code=school, kind=PersonKind.STUDENT,
                                    local_no=str(110001 + n), name=f"學生{n}", class_code="101",
                                    seat_no=n + 1, status="在籍"))  # fmt: skip
            session.add(OutcomeRow(
                outcome_id=outcome_id, school_code=school, student_id=student_id,
                academic_year=115, semester=1, status="certified", outcome_type="書面報告",
                brief=f"成果 {n}", selected=True, course_code="108011302H11101A1010101",
                subject_name="國語文", credits=4, grade=1,
                files=[{"slot": "document", "key": key, "sha256": SHA, "kind": "pdf",
                        "size": len(FILE)}],
            ))  # fmt: skip
        session.add(Submission(
            id=submission_id, school_code=school, roster_code="26", academic_year=115,
            semester=1, state=SubmissionState.BUILDING, locked_at=datetime.now(UTC),
            high_water_mark=1, job_id=job_id,
        ))  # fmt: skip
        session.add(ExportJob(
            id=job_id, school_code=school, kind=JobKind.ROSTER, roster_code="26",
            academic_year=115, semester=1, submission_id=submission_id, state=JobState.QUEUED,
        ))  # fmt: skip
        await session.commit()
    return job_id


def _start_worker_process(
    settings: ExportsSettings, tmp_path: Path, name: str = "worker"
) -> subprocess.Popen[bytes]:
    """`licheng-exports worker` as its own process, on the same database, NATS and S3."""
    values = {
        "ENVIRONMENT": "test",
        "DATABASE_URL": settings.database_url,
        "NATS_URL": settings.nats_url,
        "S3_ENDPOINT": settings.s3_endpoint,
        "S3_ACCESS_KEY": settings.s3_access_key,
        "S3_SECRET_KEY": settings.s3_secret_key.get_secret_value(),
        "JWKS_URL": settings.jwks_url,
        "JWT_ISSUER": settings.jwt_issuer,
        "IDENTITY_URL": settings.identity_url,
        "TOKEN_URL": settings.token_url,
        "JOB_ACK_WAIT_SECONDS": "3",
        "PORT": str(free_port()),
    }
    env = {**os.environ, **{f"LICHENG_EXPORTS_{k}": v for k, v in values.items()}}
    command = [str(Path(sys.executable).parent / "licheng-exports"), "worker"]
    with (tmp_path / f"{name}.log").open("wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


async def _ignore(done: int, total: int) -> None:
    del done, total


async def _wait_for(
    sessions: object,
    job_id: uuid.UUID,
    ready: object,
    what: str,
    *,
    timeout: float = 60,
    any_of: list[uuid.UUID] | None = None,
    also: Callable[[], Awaitable[str]] | None = None,
) -> ExportJob:
    deadline = time.monotonic() + timeout
    while True:
        async with sessions() as session:  # type: ignore[operator]
            for candidate in any_of or [job_id]:
                job = await get_job(session, candidate)
                if job is not None and ready(job):  # type: ignore[operator]
                    return job
        if time.monotonic() >= deadline:
            extra = await also() if also is not None else ""
            raise AssertionError(f"waiting for {what}: {job}\n{extra}")
        await asyncio.sleep(0.05)
