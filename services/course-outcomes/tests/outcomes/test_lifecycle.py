"""An outcome's whole life over HTTP: fail → edit → resubmit → certify → select → revoke."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from licheng.kit.outbox import OutboxMessage


async def test_fail_edit_resubmit_certify_select_revoke(term: Any) -> None:
    outcome = await term.new_outcome()
    oid = outcome["id"]
    assert outcome["status"] == "draft"
    assert outcome["files"][0]["sha256"]
    assert (await term.submit(oid)).json()["status"] == "submitted"

    queue = await term.api.client.get(f"{term.base}/certifications", headers=term.teacher())
    assert [o["id"] for o in queue.json()["items"]] == [oid]
    assert (queue.json()["total"], queue.json()["next_cursor"]) == (1, None)
    link = await term.api.client.get(
        f"{term.base}/certifications/{oid}/files/document", headers=term.teacher()
    )
    assert link.status_code == 200
    assert "X-Amz-Signature" in link.json()["url"]
    assert (await term.decide(oid, {"certified": True}, who="b")).status_code == 403
    no_reason = await term.decide(oid, {"certified": False})
    assert no_reason.status_code == 422
    failed = await term.decide(
        oid, {"certified": False, "reason_code": "04", "explanation": "請補充心得與反思"}
    )
    assert failed.status_code == 200
    assert (failed.json()["status"], failed.json()["fail_reason"]) == ("failed", "04")
    assert "score" not in failed.json()

    edited = await term.api.client.patch(
        f"{term.base}/outcomes/{oid}",
        json={"brief": "探討唐詩的意象，並加入個人反思"},
        headers=term.student(),
    )
    assert edited.status_code == 200, edited.text
    assert (await term.submit(oid)).json()["status"] == "submitted"
    certified = await term.decide(oid, {"certified": True})
    assert certified.json()["status"] == "certified"
    locked_edit = await term.api.client.patch(
        f"{term.base}/outcomes/{oid}", json={"brief": "再改"}, headers=term.student()
    )
    assert locked_edit.status_code == 409

    same = await term.api.client.put(
        f"{term.base}/outcomes/{oid}/files/document",
        files={"file": ("報告.pdf", term.PDF)},
        headers=term.student(),
    )
    assert same.status_code == 200
    assert same.json()["status"] == "certified"  # identical bytes keep the certification
    other = await term.api.client.put(
        f"{term.base}/outcomes/{oid}/files/document",
        files={"file": ("新報告.pdf", term.PDF + b"x")},
        headers=term.student(),
    )
    assert other.status_code == 409

    selected = await term.api.client.put(
        f"{term.base}/me/selections",
        json={"academic_year": 115, "semester": 1, "outcome_ids": [oid]},
        headers=term.student(),
    )
    assert selected.status_code == 200
    assert [o["id"] for o in selected.json()] == [oid]
    revoked = await term.api.client.delete(
        f"{term.base}/outcomes/{oid}/certification", headers=term.teacher()
    )
    assert revoked.status_code == 200
    assert (revoked.json()["status"], revoked.json()["selected"]) == ("draft", False)

    async with term.api.app.state.engine.connect() as connection:
        subjects = (await connection.execute(sa.select(OutboxMessage.subject))).scalars().all()  # type: ignore[call-overload]
    for verb in ("created", "updated", "submitted", "failed", "certified", "revoked"):
        assert f"course_outcomes.{term.api.school}.outcome.{verb}" in subjects
    assert f"course_outcomes.{term.api.school}.selection.changed" in subjects
    audit = await term.api.client.get(f"{term.base}/outcomes/{oid}", headers=term.student(2))
    assert audit.status_code == 404  # another student never sees it
