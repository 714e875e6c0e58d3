"""Fault: the object store goes away in the middle of students' uploads.

Course-outcomes reaches S3 (SeaweedFS) through a TCP proxy on loopback. Each student uploads a
proof PDF to their draft; the proxy holds the bytes until the first upload is streaming to S3,
then is cut — that upload's connection drops mid-body — and the others arrive while S3 is gone.
Every one is answered 503 `storage_unavailable` with a zh-TW message and `Retry-After`, and no
`outcome_file` row names an object S3 does not hold. When S3 is back, each retry stores the
file: one row each, its object holding exactly the bytes sent.

That an upload refused before any byte reaches S3 answers 503 and changes nothing, and that a
hanging put holds no database connection, is shown per service by
`services/course-outcomes/tests/outcomes/test_uploads_and_pool.py` and
`services/performances/tests/records/test_uploads_and_pool.py`.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from licheng.kit.storage import ObjectStorage

# A PDF of 1.5 MB: the proxy is cut while its body is on the way to S3.
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(1_500_000)
# minio's client gives up on a refused connection after its two quick retries (kit.storage:
# connect timeout 3 s, 0.2 s backoff); a dropped stream fails at once. 10 s leaves room for
# a loaded machine and stays below any client's timeout (30 s).
LATENCY_BOUND_SECONDS = 10.0


@pytest.fixture
async def term(course_term: Any) -> AsyncIterator[Any]:
    async with course_term("s3") as started:
        yield started


def _pdf_of(student: uuid.UUID) -> bytes:
    """A PDF of the student's own (distinct bytes, so a distinct object key)."""
    return PDF + student.bytes


async def _upload(term: Any, student: uuid.UUID) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = await term.client.post(
        f"{term.base}/outcomes/{term.drafts[student]}/files",
        files={"file": ("學習單.pdf", _pdf_of(student))},
        headers=term.student(student),
    )
    return answer, time.monotonic() - started


async def _rows(term: Any) -> list[tuple[str, str, str]]:
    """(outcome id, object key, sha256) of every stored file."""
    async with term.app.state.engine.connect() as connection:
        found = await connection.execute(
            sa.text("SELECT outcome_id, object_key, sha256 FROM outcome_file")
        )
        return [(str(uuid.UUID(str(o))), str(k), str(h)) for o, k, h in found]


async def _objects(term: Any, storage: ObjectStorage) -> dict[str, bytes]:
    """Every object of the school in the uploads bucket with its bytes, read from S3 itself
    (not through the proxy)."""
    bucket = term.app.state.settings.uploads_bucket
    client = storage.client

    def read() -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for item in client.list_objects(bucket, prefix=f"{term.school}/", recursive=True):
            name = item.object_name or ""
            response = client.get_object(bucket, name)
            try:
                found[name] = response.read()
            finally:
                response.close()
                response.release_conn()
        return found

    return await asyncio.to_thread(read)


async def test_uploads_cut_off_from_s3_answer_503_leave_no_dangling_row_and_succeed_on_retry(
    term: Any, storage: ObjectStorage, record_property: Callable[[str, object], None]
) -> None:
    students = list(term.drafts)
    first, *others = students
    term.proxy.pause()
    streaming = asyncio.create_task(_upload(term, first))
    await asyncio.wait_for(term.proxy.stalled.wait(), timeout=10)
    await term.proxy.cut()  # mid-body: the connection to S3 drops
    term.proxy.resume()
    answers = [await streaming]
    answers += [await _upload(term, student) for student in others]  # S3 gone altogether
    for answer, seconds in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "storage_unavailable"
        assert answer.json()["message"] == "檔案儲存服務暫時無法使用，請稍後再試"
        assert int(answer.headers["Retry-After"]) > 0
        assert seconds < LATENCY_BOUND_SECONDS, seconds
    max_latency = max(seconds for _, seconds in answers)
    assert await _rows(term) == []  # nothing half-stored points anywhere

    await term.proxy.start()  # S3 is back: every retry stores its file
    for student in students:
        answer, _ = await _upload(term, student)
        assert answer.status_code == 201, answer.text
    rows = await _rows(term)
    objects = await _objects(term, storage)
    expected = {
        (term.drafts[s], hashlib.sha256(_pdf_of(s)).hexdigest()): _pdf_of(s) for s in students
    }
    stored = [(outcome, sha) for outcome, _, sha in rows]
    applied = sum(
        1
        for outcome, key, sha in rows
        if (outcome, sha) in expected and objects.get(key) == expected[(outcome, sha)]
    )
    duplicated = len(stored) - len(set(stored))
    lost = len(expected) - len(set(stored) & set(expected))
    line = (
        f"FAULT s3_down sent={len(expected)} applied={applied} duplicated={duplicated}"
        f" lost={lost} (refused_503={len(answers)} rows={len(rows)} objects={len(objects)}"
        f" max_latency_s={max_latency:.2f})"
    )
    print(line)
    record_property("fault_s3_down", line)
    # Every row's object is in S3 with the bytes sent; one row per upload, none lost.
    assert all(key in objects for _, key, _ in rows), line
    assert (applied, duplicated, lost) == (len(expected), 0, 0), line
