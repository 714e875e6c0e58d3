"""Files (type, size, what reaches S3), ownership, brief length and the upload window."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from licheng.course_outcomes.models import OutcomeFile
from licheng.kit.timeutil import TAIPEI


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
    assert past.astimezone(TAIPEI).date().isoformat() in closed.json()["message"]


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


MP3 = b"ID3\x04\x00" + bytes(200)
OTHER_PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n3 0 obj\n<< /Type /Page >>\nendobj\n" + bytes(1200)


async def _objects(term: Any, outcome_id: str) -> list[str]:
    """The keys S3 holds under the outcome's prefix."""
    storage = term.api.app.state.storage
    bucket = term.api.app.state.settings.uploads_bucket
    prefix = f"{term.api.school}/{term.student_1}/{outcome_id}/"
    return sorted(
        await asyncio.to_thread(
            lambda: [
                o.object_name
                for o in storage.client.list_objects(bucket, prefix=prefix, recursive=True)
            ]
        )
    )


def _key(term: Any, outcome_id: str, content: bytes) -> str:
    sha = hashlib.sha256(content).hexdigest()
    return f"{term.api.school}/{term.student_1}/{outcome_id}/{sha}"


async def test_a_file_over_the_cap_is_refused_before_it_reaches_s3(term: Any) -> None:
    outcome = await term.new_outcome()  # the PDF: one file of two
    oid = outcome["id"]
    files_url = f"{term.base}/outcomes/{oid}/files"
    second = await term.api.client.post(
        files_url, files={"file": ("圖.png", term.PNG)}, headers=term.student()
    )
    assert second.status_code == 201, second.text
    files = second.json()["files"]
    assert [(f["slot"], f["kind"]) for f in files] == [("document", "pdf"), ("document", "png")]
    new_id = next(f["id"] for f in files if f["kind"] == "png")
    assert second.headers["location"] == f"{files_url}/{new_id}"
    assert all(f["uploaded_at"] for f in files)

    third = await term.api.client.post(
        files_url, files={"file": ("錄音.mp3", MP3)}, headers=term.student()
    )
    assert third.status_code == 409, third.text
    assert third.json()["error"] == "too_many_files"
    assert "每件成果最多上傳 2 個檔案" in third.json()["message"]
    by_slot = await term.api.client.put(
        f"{files_url}/media", files={"file": ("錄音.mp3", MP3)}, headers=term.student()
    )
    assert by_slot.status_code == 409  # an empty slot adds a file: the cap holds there too
    assert by_slot.json()["error"] == "too_many_files"
    assert await _objects(term, oid) == sorted(
        [_key(term, oid, term.PDF), _key(term, oid, term.PNG)]
    )
    kept = await term.api.client.get(f"{term.base}/outcomes/{oid}", headers=term.student())
    assert [f["id"] for f in kept.json()["files"]] == [f["id"] for f in files]
    assert kept.json()["version"] == second.json()["version"]

    # Two documents: the slot no longer names one file, the file id does.
    several = await term.api.client.put(
        f"{files_url}/document", files={"file": ("新.pdf", OTHER_PDF)}, headers=term.student()
    )
    assert several.status_code == 409
    assert several.json()["error"] == "several_files_in_slot"
    assert set(several.json()["detail"]["file_ids"]) == {f["id"] for f in files}
    link = await term.api.client.get(f"{files_url}/document", headers=term.student())
    assert link.status_code == 409
    assert link.json()["error"] == "several_files_in_slot"
    one = await term.api.client.get(f"{files_url}/{new_id}", headers=term.student())
    assert one.status_code == 200, one.text
    assert _key(term, oid, term.PNG) in one.json()["url"]
    theirs = await term.api.client.get(f"{files_url}/{new_id}", headers=term.student(2))
    assert theirs.status_code == 404

    # The school allows three: the third file goes in, and by content it is media.
    await term.open_windows(files_per_outcome=3)
    allowed = await term.api.client.post(
        files_url, files={"file": ("錄音.mp3", MP3)}, headers=term.student()
    )
    assert allowed.status_code == 201, allowed.text
    assert [f["slot"] for f in allowed.json()["files"]] == ["document", "document", "media"]


async def test_a_deleted_file_frees_its_place(term: Any) -> None:
    outcome = await term.new_outcome()
    oid = outcome["id"]
    files_url = f"{term.base}/outcomes/{oid}/files"
    added = await term.api.client.post(
        files_url, files={"file": ("錄音.mp3", MP3)}, headers=term.student()
    )
    assert added.status_code == 201, added.text
    pdf_id = outcome["files"][0]["id"]

    theirs = await term.api.client.delete(f"{files_url}/{pdf_id}", headers=term.student(2))
    assert theirs.status_code == 404
    deleted = await term.api.client.delete(f"{files_url}/{pdf_id}", headers=term.student())
    assert deleted.status_code == 200, deleted.text
    assert [f["kind"] for f in deleted.json()["files"]] == ["mp3"]
    assert deleted.json()["version"] == added.json()["version"] + 1
    again = await term.api.client.delete(f"{files_url}/{pdf_id}", headers=term.student())
    assert again.status_code == 404
    assert again.json()["error"] == "file_not_found"
    gone = await term.api.client.get(f"{files_url}/{pdf_id}", headers=term.student())
    assert gone.status_code == 404
    assert _key(term, oid, term.PDF) in await _objects(term, oid)  # S3 keeps the object
    twice = await term.api.client.post(
        files_url, files={"file": ("錄音2.mp3", MP3)}, headers=term.student()
    )
    assert twice.status_code == 409  # the same bytes twice in one outcome
    assert twice.json()["error"] == "file_already_attached"
    assert twice.json()["detail"]["file_id"] == deleted.json()["files"][0]["id"]

    readded = await term.api.client.post(
        files_url, files={"file": ("報告.pdf", term.PDF)}, headers=term.student()
    )
    assert readded.status_code == 201, readded.text
    assert sorted(f["kind"] for f in readded.json()["files"]) == ["mp3", "pdf"]
    assert pdf_id not in {f["id"] for f in readded.json()["files"]}

    # Submitted, then certified: files can neither be added nor deleted; the same bytes keep
    # the certification.
    assert (await term.submit(oid)).status_code == 200
    media_id = next(f["id"] for f in readded.json()["files"] if f["kind"] == "mp3")
    certifier = await term.api.client.get(f"{files_url}/{media_id}", headers=term.teacher())
    assert certifier.status_code == 200, certifier.text  # the file id reaches the certifier
    assert _key(term, oid, MP3) in certifier.json()["url"]
    refused = await term.api.client.delete(f"{files_url}/{media_id}", headers=term.student())
    assert refused.status_code == 409
    assert refused.json()["error"] == "outcome_not_editable"
    refused = await term.api.client.post(
        files_url, files={"file": ("新.pdf", OTHER_PDF)}, headers=term.student()
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "outcome_not_editable"
    assert (await term.decide(oid, {"certified": True})).status_code == 200
    refused = await term.api.client.delete(f"{files_url}/{media_id}", headers=term.student())
    assert refused.status_code == 409
    refused = await term.api.client.post(
        files_url, files={"file": ("新.pdf", OTHER_PDF)}, headers=term.student()
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "outcome_certified"
    same = await term.api.client.post(
        files_url, files={"file": ("錄音.mp3", MP3)}, headers=term.student()
    )
    assert same.status_code == 200, same.text
    assert same.json()["status"] == "certified"
    assert _key(term, oid, OTHER_PDF) not in await _objects(term, oid)


async def test_outside_the_upload_window_files_stay_as_they_are(term: Any) -> None:
    outcome = await term.new_outcome()
    oid = outcome["id"]
    past = datetime.now(UTC) - timedelta(days=10)
    await term.open_windows(
        upload_from=(past - timedelta(days=30)).isoformat(), upload_until=past.isoformat()
    )
    files_url = f"{term.base}/outcomes/{oid}/files"
    added = await term.api.client.post(
        files_url, files={"file": ("錄音.mp3", MP3)}, headers=term.student()
    )
    assert added.status_code == 409
    assert added.json()["error"] == "window_closed"
    deleted = await term.api.client.delete(
        f"{files_url}/{outcome['files'][0]['id']}", headers=term.student()
    )
    assert deleted.status_code == 409
    assert deleted.json()["error"] == "window_closed"
    assert await _objects(term, oid) == [_key(term, oid, term.PDF)]


async def test_concurrent_uploads_cannot_pass_the_cap_together(term: Any) -> None:
    outcome = await term.new_outcome()
    oid = outcome["id"]
    files_url = f"{term.base}/outcomes/{oid}/files"
    answers = await asyncio.gather(
        *(
            term.api.client.post(files_url, files={"file": name_and_bytes}, headers=term.student())
            for name_and_bytes in (("a.png", term.PNG), ("b.mp3", MP3), ("c.pdf", OTHER_PDF))
        )
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 409, 409], [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {"too_many_files"}
    async with term.api.app.state.session_factory() as session:
        stored = (await session.exec(select(OutcomeFile))).all()
    assert len(stored) == 2
    # The losers were turned away after their put (the cap is checked again under the row lock,
    # with no connection held during the put): no row names a missing object, and what they put
    # stays unreferenced for the retention sweep (docs/course-outcomes.md, uploads and the pool).
    assert {f.object_key for f in stored} <= set(await _objects(term, oid))
