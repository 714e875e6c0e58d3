"""Files (type, size, what reaches S3), ownership, brief length and the upload window."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from licheng.course_outcomes.models import OutcomeFile


async def test_windows_files_and_ownership_are_enforced(term: Any) -> None:
    outcome = await term.new_outcome()
    oid = outcome["id"]
    mislabelled = await term.api.client.put(
        f"{term.base}/outcomes/{oid}/files/document",
        files={"file": ("照片.pdf", term.PNG)},
        headers=term.student(),
    )
    assert mislabelled.status_code == 415
    assert mislabelled.json()["error"] == "file_type_mismatch"
    huge = term.PDF + bytes(5 * 2**20)
    too_big = await term.api.client.put(
        f"{term.base}/outcomes/{oid}/files/document",
        files={"file": ("大.pdf", huge)},
        headers=term.student(),
    )
    assert too_big.status_code == 413
    async with term.api.app.state.session_factory() as session:
        files = (await session.exec(select(OutcomeFile))).all()
    assert [f.filename for f in files] == ["報告.pdf"]  # the rejected uploads changed nothing
    storage = term.api.app.state.storage
    bucket = term.api.app.state.settings.uploads_bucket
    prefix = f"{term.api.school}/{term.student_1}/{oid}/"
    stored = await asyncio.to_thread(
        lambda: [
            o.object_name
            for o in storage.client.list_objects(bucket, prefix=prefix, recursive=True)
        ]
    )
    assert stored == [files[0].object_key]  # and nothing of them reached S3
    theirs = await term.api.client.patch(
        f"{term.base}/outcomes/{oid}", json={"brief": "偷改"}, headers=term.student(2)
    )
    assert theirs.status_code == 404
    long_brief = await term.api.client.patch(
        f"{term.base}/outcomes/{oid}", json={"brief": "字" * 101}, headers=term.student()
    )
    assert long_brief.status_code == 400
    assert long_brief.json()["error"] == "brief_too_long"

    past = datetime.now(UTC) - timedelta(days=10)
    await term.open_windows(
        upload_from=(past - timedelta(days=30)).isoformat(), upload_until=past.isoformat()
    )
    closed = await term.api.client.patch(
        f"{term.base}/outcomes/{oid}", json={"brief": "改"}, headers=term.student()
    )
    assert closed.status_code == 409
    assert closed.json()["error"] == "window_closed"
    assert past.date().isoformat() in closed.json()["message"]


async def test_a_refused_reupload_of_a_certified_outcome_never_reaches_s3(term: Any) -> None:
    outcome = await term.new_outcome()
    oid = outcome["id"]
    assert (await term.submit(oid)).status_code == 200
    assert (await term.decide(oid, {"certified": True})).status_code == 200
    different = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n2 0 obj\n<< /Type /Pages >>\nendobj\n" + bytes(1500)
    assert different != term.PDF

    refused = await term.api.client.put(
        f"{term.base}/outcomes/{oid}/files/document",
        files={"file": ("新報告.pdf", different)},
        headers=term.student(),
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "outcome_certified"

    storage = term.api.app.state.storage
    bucket = term.api.app.state.settings.uploads_bucket
    prefix = f"{term.api.school}/{term.student_1}/{oid}"
    new_key = f"{prefix}/{hashlib.sha256(different).hexdigest()}"
    old_sha = hashlib.sha256(term.PDF).hexdigest()
    assert outcome["files"][0]["sha256"] == old_sha
    assert await storage.exists(bucket=bucket, key=new_key) is False
    assert await storage.exists(bucket=bucket, key=f"{prefix}/{old_sha}") is True
    kept = await term.api.client.get(f"{term.base}/outcomes/{oid}", headers=term.student())
    assert kept.json()["status"] == "certified"
    assert [f["sha256"] for f in kept.json()["files"]] == [old_sha]


async def test_an_upload_keeps_only_a_safe_name_and_drafts_stay_private(term: Any) -> None:
    outcome = await term.new_outcome()
    url = f"{term.base}/outcomes/{outcome['id']}/files/document"
    stored = await term.api.client.put(
        url, files={"file": ("../../evil.exe", term.PDF)}, headers=term.student()
    )
    assert stored.status_code == 200, stored.text
    [document] = stored.json()["files"]
    assert (document["filename"], document["kind"]) == ("evil.pdf", "pdf")
    drafts = await term.api.client.get(
        f"{term.base}/certifications", params={"status": "draft"}, headers=term.teacher()
    )
    assert drafts.status_code == 422  # a teacher's queue never lists a student's drafts
