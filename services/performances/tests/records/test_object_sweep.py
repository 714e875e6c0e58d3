"""A removed proof file is swept from S3 a grace period later; the record's other file stays
(licheng.kit.object_sweep)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from licheng.kit.object_sweep import ObjectSweeper

from .conftest import Filling

OTHER_PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n2 0 obj\n<< /Type /Pages >>\nendobj\n" + bytes(900)


async def test_a_removed_proof_file_is_swept_and_the_kept_one_stays(filling: Filling) -> None:
    app = filling.api.app
    assert app.state.object_sweeper is not None  # the service sweeps on its own, hourly
    rid = (await filling.create())["id"]
    for name, content in (("獎狀.pdf", filling.school.PDF), ("證明.pdf", OTHER_PDF)):
        uploaded = await filling.upload(rid, name, content)
        assert uploaded.status_code == 201, uploaded.text
    removed_id = next(f["id"] for f in uploaded.json()["files"] if f["filename"] == "獎狀.pdf")
    removed = await filling.client.delete(
        f"{filling.base}/performances/{rid}/files/{removed_id}", headers=filling.student()
    )
    assert removed.status_code == 200, removed.text
    student = filling.school.students["110001"]
    key = f"{filling.api.school}/{student}/{rid}/"
    gone, kept = (key + hashlib.sha256(c).hexdigest() for c in (filling.school.PDF, OTHER_PDF))

    sweeper = ObjectSweeper(
        service="performances",
        session_factory=app.state.session_factory,
        storage=app.state.storage,
        references=app.state.definition.object_references,
        grace=timedelta(0),  # the test's grace: gone on the pass after the one that marks
    )
    assert await sweeper.sweep() == 0
    assert await filling.objects(rid) == sorted([gone, kept])
    assert await sweeper.sweep() == 1
    assert await filling.objects(rid) == [kept]
