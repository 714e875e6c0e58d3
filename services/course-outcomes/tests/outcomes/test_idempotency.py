"""Idempotency keys: a retried create or 送審 is replayed, never done twice."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import timedelta
from typing import Any

from licheng.kit.idempotency import DEFAULT_PENDING_TAKEOVER_SECONDS, IdempotencyRecord
from licheng.kit.timeutil import utcnow


async def test_idempotency_key_makes_retries_harmless(term: Any) -> None:
    enrolment = (await term.courses())[term.COURSE_X]
    body = {"enrolment_id": enrolment, "outcome_type": "其他", "brief": "重送也只有一筆"}
    key = {"idempotency-key": f"create-{uuid.uuid4()}"}
    first = await term.api.client.post(
        f"{term.base}/outcomes", json=body, headers={**term.student(), **key}
    )
    again = await term.api.client.post(
        f"{term.base}/outcomes", json=body, headers={**term.student(), **key}
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replay"] == "true"
    assert await term.count_outcomes() == 1

    together = await asyncio.gather(*(
        term.api.client.post(f"{term.base}/outcomes", json=body,
                             headers={**term.student(), "idempotency-key": "race"})
        for _ in range(3)))  # fmt: skip
    assert {r.status_code for r in together} <= {201, 409}
    assert await term.count_outcomes() == 2  # the race made exactly one more

    other = (await term.courses(2))[term.COURSE_X]
    theirs = await term.api.client.post(
        f"{term.base}/outcomes",
        json={**body, "enrolment_id": other},
        headers={**term.student(2), **key},
    )
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]  # the key is per caller

    oid = first.json()["id"]
    await term.api.client.put(
        f"{term.base}/outcomes/{oid}/files/document",
        files={"file": ("a.pdf", term.PDF)},
        headers=term.student(),
    )
    submit_key = {**term.student(), "idempotency-key": "submit-1"}
    submitted = await term.api.client.post(
        f"{term.base}/outcomes/{oid}/submission", headers=submit_key
    )
    retried = await term.api.client.post(
        f"{term.base}/outcomes/{oid}/submission", headers=submit_key
    )
    assert (submitted.status_code, retried.status_code) == (200, 200)
    bad = await term.api.client.post(
        f"{term.base}/outcomes", json=body, headers={**term.student(), "idempotency-key": "k" * 201}
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "idempotency_key_invalid"


async def test_a_key_reused_for_another_request_is_refused(term: Any) -> None:
    enrolment = (await term.courses())[term.COURSE_X]
    key = {**term.student(), "idempotency-key": f"reuse-{uuid.uuid4()}"}
    body = {"enrolment_id": enrolment, "outcome_type": "其他", "brief": "第一份"}
    first = await term.api.client.post(f"{term.base}/outcomes", json=body, headers=key)
    assert first.status_code == 201
    other = await term.api.client.post(
        f"{term.base}/outcomes", json={**body, "brief": "另一份"}, headers=key
    )
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"
    assert await term.count_outcomes() == 1
    same = await term.api.client.post(f"{term.base}/outcomes", json=body, headers=key)
    assert (same.status_code, same.json()["id"]) == (201, first.json()["id"])


async def test_a_retried_upload_is_replayed_though_its_multipart_boundary_changed(
    term: Any,
) -> None:
    outcome = await term.new_outcome()
    url = f"{term.base}/outcomes/{outcome['id']}/files/document"
    key = {**term.student(), "idempotency-key": f"upload-{uuid.uuid4()}"}
    first = await term.api.client.put(url, files={"file": ("a.pdf", term.PDF)}, headers=key)
    again = await term.api.client.put(url, files={"file": ("a.pdf", term.PDF)}, headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["idempotent-replay"] == "true"


async def test_a_key_left_pending_by_a_request_that_died_is_taken_over(term: Any) -> None:
    # A request claimed its key, then the database went away before its 503 could be noted:
    # the record stays pending. A retry meanwhile is told to wait; once the record is older
    # than any request runs, the retry takes it over and runs.
    path = f"{term.base}/outcomes"
    key = f"died-{uuid.uuid4()}"
    material = "\n".join([str(term.student_1), "POST", path, key])
    key_hash = hashlib.sha256(material.encode()).hexdigest()
    async with term.api.app.state.session_factory() as session:
        session.add(IdempotencyRecord(key_hash=key_hash, created_at=utcnow()))
        await session.commit()
    enrolment = (await term.courses())[term.COURSE_X]
    body = {"enrolment_id": enrolment, "outcome_type": "其他", "brief": "斷線後重送"}
    headers = {**term.student(), "idempotency-key": key}
    waiting = await term.api.client.post(path, json=body, headers=headers)
    assert waiting.status_code == 409, waiting.text
    assert waiting.json()["error"] == "request_in_progress"
    async with term.api.app.state.session_factory() as session:
        record = await session.get(IdempotencyRecord, key_hash)
        assert record is not None
        record.created_at = utcnow() - timedelta(seconds=DEFAULT_PENDING_TAKEOVER_SECONDS + 1)
        await session.commit()
    taken_over = await term.api.client.post(path, json=body, headers=headers)
    assert taken_over.status_code == 201, taken_over.text
    replayed = await term.api.client.post(path, json=body, headers=headers)
    assert replayed.headers["idempotent-replay"] == "true"
    assert replayed.json()["id"] == taken_over.json()["id"]
    assert await term.count_outcomes() == 1
