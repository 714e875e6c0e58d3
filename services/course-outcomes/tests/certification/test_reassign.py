"""更換認證教師: one outcome, or a whole section with its undecided outcomes."""

from __future__ import annotations

from typing import Any


async def test_reassigned_teacher_certifies(term: Any) -> None:
    outcome = await term.new_outcome()
    await term.submit(outcome["id"])
    moved = await term.api.client.put(
        f"{term.base}/outcomes/{outcome['id']}/certifier",
        json={"teacher_id": str(term.teacher_b)},
        headers=term.submitter(),
    )
    assert moved.status_code == 200
    assert (await term.decide(outcome["id"], {"certified": True}, who="a")).status_code == 403
    assert (await term.decide(outcome["id"], {"certified": True}, who="b")).status_code == 200
    refused = await term.api.client.put(
        f"{term.base}/outcomes/{outcome['id']}/certifier",
        json={"teacher_id": str(term.teacher_a)},
        headers=term.teacher("a"),
    )
    assert refused.status_code == 403


async def test_section_reassignment_moves_undecided_outcomes(term: Any) -> None:
    waiting = await term.new_outcome()
    await term.submit(waiting["id"])
    done = await term.new_outcome()
    await term.submit(done["id"])
    assert (await term.decide(done["id"], {"certified": True})).status_code == 200
    sections = await term.api.client.get(
        f"{term.base}/sections",
        params={"academic_year": 115, "semester": 1},
        headers=term.submitter(),
    )
    assert sections.json()["total"] == 2
    section = next(s for s in sections.json()["items"] if s["course_code"] == term.COURSE_X)
    assert section["certifier_id"] == str(term.teacher_a)
    moved = await term.api.client.put(
        f"{term.base}/sections/{section['id']}/certifier",
        json={"teacher_id": str(term.teacher_b)},
        headers=term.submitter(),
    )
    assert moved.json() == {"outcomes_moved": 1}
    queue = await term.api.client.get(f"{term.base}/certifications", headers=term.teacher("b"))
    assert [o["id"] for o in queue.json()["items"]] == [waiting["id"]]
    kept = await term.api.client.get(f"{term.base}/outcomes/{done['id']}", headers=term.student())
    assert kept.json()["certifier_id"] == str(term.teacher_a)  # decided outcomes stay
