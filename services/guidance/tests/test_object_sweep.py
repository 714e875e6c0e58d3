"""Sweeping guidance's objects: a replaced counseling attachment goes a grace period later,
while the PDF of every kept 自傳/學習計畫 version stays (its history shows each one)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from licheng.kit.object_sweep import ObjectSweeper

PNG = b"\x89PNG\r\n\x1a\n" + bytes(600)
LATER_PDF = b"%PDF-1.5\n% the revised plan\n" + bytes(1800)


async def test_replaced_attachments_go_and_every_writing_versions_pdf_stays(school: Any) -> None:
    app = school.api.app
    storage, bucket = app.state.storage, app.state.settings.uploads_bucket
    assert app.state.object_sweeper is not None  # the service sweeps on its own, hourly

    plan = f"{school.base}/me/writings/study_plan/file"
    versions = []
    for pdf, expected in ((school.PDF, "0"), (LATER_PDF, "1")):
        saved = await school.api.client.put(
            plan,
            files={"file": ("計畫.pdf", pdf)},
            headers={**school.student(), "if-match": expected},
        )
        assert saved.status_code == 200, saved.text
        versions.append(saved.json())
    writing_id = versions[0]["id"]
    owner = f"{school.api.school}/{school.students['110001']}"
    plan_keys = [
        f"{owner}/{writing_id}/{hashlib.sha256(p).hexdigest()}" for p in (school.PDF, LATER_PDF)
    ]

    created = await school.api.client.post(
        f"{school.base}/counseling",
        json={"held_on": "2025-09-01", "mode": "individual", "topic": "選課", "content": "內容",
              "student_ids": [str(school.students["110001"])]},
        headers=school.counselor(),
    )  # fmt: skip
    assert created.status_code == 201, created.text
    attachment = f"{school.base}/counseling/{created.json()['id']}/attachment"
    keys = []
    for name, content in (("紀錄.pdf", school.PDF), ("照片.png", PNG)):
        uploaded = await school.api.client.put(
            attachment, files={"file": (name, content)}, headers=school.counselor()
        )
        assert uploaded.status_code == 200, uploaded.text
        link = await school.api.client.get(attachment, headers=school.counselor())
        keys.append(link.json()["url"].split("?")[0].split(f"/{bucket}/", 1)[1])
    replaced, current = keys

    sweeper = ObjectSweeper(
        service="guidance",
        session_factory=app.state.session_factory,
        storage=storage,
        references=app.state.definition.object_references,
        grace=timedelta(0),  # the test's grace: gone on the pass after the one that marks
    )
    assert await sweeper.sweep() == 0
    assert await sweeper.sweep() == 1
    assert not await storage.exists(bucket=bucket, key=replaced)
    for key in (current, *plan_keys):
        assert await storage.exists(bucket=bucket, key=key), key
    older = await school.api.client.get(
        f"{school.base}/writings/{writing_id}/versions/1/file", headers=school.student()
    )
    assert older.status_code == 200, older.text  # the first PDF is still there to read
    assert await storage.read(bucket=bucket, key=plan_keys[0]) == school.PDF

    removed = await school.api.client.delete(attachment, headers=school.counselor())
    assert removed.status_code == 200
    await sweeper.sweep()
    assert await sweeper.sweep() == 1  # a deleted attachment is no longer referenced either
    assert not await storage.exists(bucket=bucket, key=current)
