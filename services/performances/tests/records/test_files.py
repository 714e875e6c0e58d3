"""Proof files: stored under a content key, refused by content before S3, capped per record,
linked for whoever may read the record."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from licheng.kit.outbox import OutboxMessage
from licheng.performances.models import PerformanceFile

from .conftest import PNG, Filling, new_id

MP3 = b"ID3\x04\x00" + bytes(300)
OTHER_PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n2 0 obj\n<< /Type /Pages >>\nendobj\n" + bytes(900)


def _key(filling: Filling, record_id: str, content: bytes) -> str:
    student = filling.school.students["110001"]
    return f"{filling.api.school}/{student}/{record_id}/{hashlib.sha256(content).hexdigest()}"


async def test_a_proof_pdf_uploads_links_and_is_removed(filling: Filling) -> None:
    record = await filling.create()
    rid = record["id"]
    uploaded = await filling.upload(rid, "../獎狀.pdf", filling.school.PDF)
    assert uploaded.status_code == 201, uploaded.text
    [proof] = uploaded.json()["files"]
    assert (proof["filename"], proof["kind"]) == ("獎狀.pdf", "pdf")
    assert proof["sha256"] == hashlib.sha256(filling.school.PDF).hexdigest()
    assert proof["size"] == len(filling.school.PDF)
    assert uploaded.json()["version"] == record["version"] + 1
    assert uploaded.headers["location"].endswith(f"/performances/{rid}/files/{proof['id']}")
    assert await filling.objects(rid) == [_key(filling, rid, filling.school.PDF)]
    link_url = f"{filling.base}/performances/{rid}/files/{proof['id']}"
    for headers in (filling.student(), filling.school.homeroom(),
                    filling.school.as_role("performance_submitter")):  # fmt: skip
        link = await filling.client.get(link_url, headers=headers)
        assert link.status_code == 200, link.text
        assert link.json()["expires_in"] == 300
        assert hashlib.sha256(filling.school.PDF).hexdigest() in link.json()["url"]
    hidden = await filling.client.get(link_url, headers=filling.student("110002"))
    assert hidden.status_code == 404
    assert "url" not in hidden.json()
    no_file = await filling.client.get(
        f"{filling.base}/performances/{rid}/files/{new_id()}", headers=filling.student()
    )
    assert no_file.status_code == 404
    async with filling.api.app.state.session_factory() as session:
        subjects = (await session.exec(select(OutboxMessage.subject))).all()
    assert sum(s.endswith("performance.updated") for s in subjects) == 1
    theirs = await filling.client.delete(link_url, headers=filling.student("110002"))
    assert theirs.status_code == 404
    removed = await filling.client.delete(link_url, headers=filling.student())
    assert removed.status_code == 200, removed.text
    assert removed.json()["files"] == []
    assert await filling.api.count(PerformanceFile) == 0


async def test_wrong_magic_bytes_are_refused_before_s3(filling: Filling) -> None:
    record = await filling.create()
    rid = record["id"]
    assert (await filling.upload(rid, "a.pdf", filling.school.PDF)).status_code == 201
    before = await filling.objects(rid)
    for name, content, code in (
        ("照片.pdf", PNG, "file_type_mismatch"),
        ("假的.pdf", b"MZ\x90\x00" + bytes(500), "file_type_mismatch"),
        ("程式.exe", b"MZ\x90\x00" + bytes(500), "file_type_not_allowed"),
    ):
        refused = await filling.upload(rid, name, content)
        assert refused.status_code == 415, refused.text
        assert refused.json()["error"] == code
    assert await filling.objects(rid) == before
    assert await filling.api.count(PerformanceFile) == 1


async def test_the_fourth_file_of_three_is_refused(filling: Filling) -> None:
    record = await filling.create()
    rid = record["id"]
    for name, content in (("a.pdf", filling.school.PDF), ("b.png", PNG), ("c.mp3", MP3)):
        assert (await filling.upload(rid, name, content)).status_code == 201
    fourth = await filling.upload(rid, "d.pdf", OTHER_PDF)
    assert fourth.status_code == 409
    assert fourth.json()["error"] == "too_many_files"
    assert fourth.json()["detail"] == {"limit": 3}
    assert "3" in fourth.json()["message"]
    assert len(await filling.objects(rid)) == 3
    assert _key(filling, rid, OTHER_PDF) not in await filling.objects(rid)


async def test_concurrent_uploads_cannot_pass_the_cap_together(filling: Filling) -> None:
    record = await filling.create()
    rid = record["id"]
    assert (await filling.upload(rid, "a.pdf", filling.school.PDF)).status_code == 201
    assert (await filling.upload(rid, "b.png", PNG)).status_code == 201
    answers = await asyncio.gather(
        filling.upload(rid, "c.mp3", MP3), filling.upload(rid, "d.pdf", OTHER_PDF)
    )
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert await filling.api.count(PerformanceFile) == 3
    async with filling.api.app.state.session_factory() as session:
        keys = {f.object_key for f in (await session.exec(select(PerformanceFile))).all()}
    # The loser was turned away after its put (the cap is checked again under the row lock; no
    # connection is held during the put): no row names a missing object, and its bytes stay
    # unreferenced for the retention sweep (docs/performances.md, uploads and the pool).
    assert keys <= set(await filling.objects(rid))


async def test_the_same_file_twice_and_file_changes_outside_the_window(filling: Filling) -> None:
    record = await filling.create()
    rid = record["id"]
    first = await filling.upload(rid, "a.pdf", filling.school.PDF)
    again = await filling.upload(rid, "again.pdf", filling.school.PDF)
    assert again.status_code == 409
    assert again.json()["error"] == "file_already_attached"
    past = datetime.now(UTC) - timedelta(days=10)
    await filling.school.open_windows(
        fill_from=(past - timedelta(days=30)).isoformat(), fill_until=past.isoformat()
    )
    late = await filling.upload(rid, "b.png", PNG)
    assert late.status_code == 409
    assert late.json()["error"] == "window_closed"
    file_id = first.json()["files"][0]["id"]
    kept = await filling.client.delete(
        f"{filling.base}/performances/{rid}/files/{file_id}", headers=filling.student()
    )
    assert kept.status_code == 409
    assert kept.json()["error"] == "window_closed"
    assert await filling.objects(rid) == [_key(filling, rid, filling.school.PDF)]
