"""A replaced upload is swept from S3 a grace period later; the current file, a younger object
and another service's object in the same bucket stay (licheng.kit.object_sweep)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlmodel import select

from licheng.course_outcomes.app import OBJECT_REFERENCES
from licheng.course_outcomes.cli import MIGRATIONS_DIR
from licheng.course_outcomes.models import OutcomeFile
from licheng.kit.cli import run_service_cli
from licheng.kit.object_sweep import ObjectSweeper
from licheng.kit.storage import FileKind, KeyFor, ObjectStorage, UploadPolicy, iter_bytes

OTHER_PDF = b"%PDF-1.4\n% another report\n" + bytes(1500)


@pytest.fixture
def course_api_settings() -> dict[str, Any]:
    """No grace: an object goes on the second pass after nothing references it."""
    return {"object_sweep_grace_hours": 0.0}


async def _keys(term: Any, outcome_id: str) -> list[str]:
    async with term.api.app.state.session_factory() as session:
        files = await session.exec(
            select(OutcomeFile).where(OutcomeFile.outcome_id == uuid.UUID(outcome_id))
        )
        return [f.object_key for f in files]


def _swept() -> float:
    labels = {"service": "course_outcomes"}
    return REGISTRY.get_sample_value("licheng_objects_swept_total", labels) or 0.0


async def test_a_replaced_upload_is_swept_and_nothing_else(
    term: Any, storage: ObjectStorage
) -> None:
    app = term.api.app
    bucket = app.state.settings.uploads_bucket
    outcome = await term.new_outcome()
    [first] = await _keys(term, outcome["id"])
    # performances' proof file of the same student, in the same bucket (not in our ledger)
    theirs = await storage.put_stream(
        bucket=bucket,
        chunks=iter_bytes(term.PDF + b"performances"),
        policy=UploadPolicy(max_bytes={FileKind.PDF: 2**20}),
        key_for=KeyFor(
            school_code=term.api.school, owner_id=term.student_1, record_id=uuid.uuid4()
        ),
    )
    replaced = await term.api.client.put(
        f"{term.base}/outcomes/{outcome['id']}/files/document",
        files={"file": ("新版.pdf", OTHER_PDF)},
        headers=term.student(),
    )
    assert replaced.status_code == 200, replaced.text
    [current] = await _keys(term, outcome["id"])
    assert current != first

    patient = ObjectSweeper(
        service="course_outcomes",
        session_factory=app.state.session_factory,
        storage=app.state.storage,
        references=app.state.definition.object_references,
        grace=timedelta(hours=1),
    )
    await patient.sweep()
    await patient.sweep()
    assert await storage.exists(bucket=bucket, key=first)  # put less than an hour ago

    before = _swept()
    sweeper = app.state.object_sweeper  # this service's, with no grace
    assert await sweeper.sweep() == 0  # found unreferenced now: marked
    assert await storage.exists(bucket=bucket, key=first)
    assert await sweeper.sweep() == 1
    assert not await storage.exists(bucket=bucket, key=first)
    assert await storage.exists(bucket=bucket, key=current)
    assert await storage.exists(bucket=bucket, key=theirs.key)
    assert _swept() - before == 1
    file_id = replaced.json()["files"][0]["id"]
    download = await term.api.client.get(
        f"{term.base}/outcomes/{outcome['id']}/files/{file_id}", headers=term.student()
    )
    assert download.status_code == 200
    assert current in download.json()["url"]


async def test_an_operator_sweeps_now_from_the_command_line(
    term: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    app = term.api.app
    storage, bucket = app.state.storage, app.state.settings.uploads_bucket
    outcome = await term.new_outcome()
    [first] = await _keys(term, outcome["id"])
    replaced = await term.api.client.put(
        f"{term.base}/outcomes/{outcome['id']}/files/document",
        files={"file": ("新版.pdf", OTHER_PDF)},
        headers=term.student(),
    )
    assert replaced.status_code == 200, replaced.text

    def sweep_objects(*options: str) -> str:
        capsys.readouterr()
        run_service_cli(
            name="course_outcomes",
            app_factory="licheng.course_outcomes.app:create_app",
            settings_factory=lambda: app.state.settings,
            migrations_dir=MIGRATIONS_DIR,
            object_references=OBJECT_REFERENCES,
            argv=["sweep-objects", *options],
        )
        answer = [line for line in capsys.readouterr().out.splitlines() if line.startswith("swept")]
        return "\n".join(answer)  # its answer, among the JSON log lines

    assert await asyncio.to_thread(sweep_objects, "--grace-hours", "24") == "swept 0 objects"
    assert await asyncio.to_thread(sweep_objects, "--grace-hours", "24") == "swept 0 objects"
    assert await asyncio.to_thread(sweep_objects, "--grace-hours", "0") == "swept 0 objects"
    assert await storage.exists(bucket=bucket, key=first)  # marked by that run
    assert await asyncio.to_thread(sweep_objects, "--grace-hours", "0") == "swept 1 objects"
    assert not await storage.exists(bucket=bucket, key=first)
    [current] = await _keys(term, outcome["id"])
    assert await storage.exists(bucket=bucket, key=current)
