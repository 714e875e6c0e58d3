"""代理人: a teacher names a colleague who sees and certifies their queue during a range only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from licheng.course_outcomes.models import CertifierDelegation
from licheng.kit.audit import AuditEntry


async def _substitute(term: Any) -> tuple[uuid.UUID, dict[str, str]]:
    person = await term.api.announce_person(kind="staff", local_no="T006", name="許代理")

    async def known() -> bool:
        return await term.known_people() == 5

    await term.api.eventually(known, "the substitute")
    return person, term.api.as_roles("counselor", person_id=person)


def _range(start: timedelta, end: timedelta) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"starts_at": (now + start).isoformat(), "ends_at": (now + end).isoformat()}


async def test_a_substitute_certifies_during_the_range_and_not_after(term: Any) -> None:
    substitute, as_substitute = await _substitute(term)
    first = await term.new_outcome(which=1)
    second = await term.new_outcome(which=2)
    for outcome, which in ((first, 1), (second, 2)):
        assert (await term.submit(outcome["id"], which)).status_code == 200
    before = await term.api.client.get(f"{term.base}/certifications", headers=as_substitute)
    assert before.status_code == 403
    named = await term.api.client.post(
        f"{term.base}/delegations",
        json={
            "substitute_id": str(substitute),
            **_range(-timedelta(minutes=1), timedelta(hours=2)),
        },
        headers=term.teacher("a"),
    )
    assert named.status_code == 201, named.text
    assert named.json()["active"] is True
    assert named.json()["substitute"]["name"] == "許代理"
    queue = await term.api.client.get(f"{term.base}/certifications", headers=as_substitute)
    assert queue.status_code == 200, queue.text
    assert {o["id"] for o in queue.json()["items"]} == {first["id"], second["id"]}
    decided = await term.api.client.post(
        f"{term.base}/outcomes/{first['id']}/certification",
        json={"certified": True},
        headers=as_substitute,
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["decided_by"]["name"] == "許代理"
    assert decided.json()["certifier"]["name"] == "陳老師"
    async with term.api.app.state.session_factory() as session:
        [entry] = (
            await session.exec(
                select(AuditEntry).where(
                    AuditEntry.entity_id == first["id"], AuditEntry.action == "outcome.certified"
                )
            )
        ).all()
        assert entry.actor_id == substitute
        assert entry.after is not None
        assert entry.after["acting_for"] == str(term.teacher_a)
        # Time passes: the range is over.
        stored = (await session.exec(select(CertifierDelegation))).one()
        stored.ends_at = datetime.now(UTC) - timedelta(seconds=1)
        await session.commit()
    late = await term.api.client.post(
        f"{term.base}/outcomes/{second['id']}/certification",
        json={"certified": True},
        headers=as_substitute,
    )
    assert late.status_code == 403
    listed = await term.api.client.get(f"{term.base}/delegations", headers=term.teacher("a"))
    assert [d["active"] for d in listed.json()["items"]] == [False]
    # The teacher's own queue still holds the second outcome.
    own = await term.api.client.get(f"{term.base}/certifications", headers=term.teacher("a"))
    assert [o["id"] for o in own.json()["items"]] == [second["id"]]


async def test_a_delegation_ends_early_and_is_checked(term: Any) -> None:
    substitute, as_substitute = await _substitute(term)
    url = f"{term.base}/delegations"
    body = {"substitute_id": str(substitute), **_range(timedelta(0), timedelta(days=3))}
    named = await term.api.client.post(url, json=body, headers=term.teacher("a"))
    assert named.status_code == 201, named.text
    # Only the teacher who gave it ends it.
    other = await term.api.client.delete(f"{url}/{named.json()['id']}", headers=term.teacher("b"))
    assert other.status_code == 404
    ended = await term.api.client.delete(f"{url}/{named.json()['id']}", headers=term.teacher("a"))
    assert ended.status_code == 200
    assert ended.json()["active"] is False
    assert (await term.api.client.get(url, headers=as_substitute)).status_code == 403
    async with term.api.app.state.session_factory() as session:
        actions = (
            await session.exec(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "delegation")
                .order_by(col(AuditEntry.occurred_at))
            )
        ).all()
    assert actions == ["delegation.created", "delegation.ended"]
    a_day = _range(timedelta(0), timedelta(days=1))
    refusals = {
        "self_delegation": {"substitute_id": str(term.teacher_a), **a_day},
        "delegation_range_invalid": {
            "substitute_id": str(substitute),
            **_range(timedelta(days=2), timedelta(days=1)),
        },
        "teacher_not_found": {"substitute_id": str(term.student_1), **a_day},
    }
    for code, refused_body in refusals.items():
        refused = await term.api.client.post(url, json=refused_body, headers=term.teacher("a"))
        assert refused.status_code in (400, 404), refused.text
        assert refused.json()["error"] == code
    naive = await term.api.client.post(
        url,
        json={"substitute_id": str(substitute), "starts_at": "2026-12-01T08:00:00",
              "ends_at": "2026-12-09T08:00:00"},
        headers=term.teacher("a"),
    )  # fmt: skip
    assert naive.status_code == 422
    # A substitute cannot pass the queue on.
    await term.api.client.post(url, json=body, headers=term.teacher("a"))
    onward = await term.api.client.post(
        url,
        json={"substitute_id": str(term.teacher_b), **_range(timedelta(0), timedelta(days=1))},
        headers=as_substitute,
    )
    assert onward.status_code == 403
    assert onward.json()["error"] == "teacher_only"
