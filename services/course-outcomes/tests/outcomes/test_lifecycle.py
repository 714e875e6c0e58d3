"""The whole outcome lifecycle through the HTTP API on real PostgreSQL, NATS and S3."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from licheng.contracts.events import (
    ClassUpserted,
    EventEnvelope,
    OutcomesTermLocked,
    SubmissionRequested,
)
from licheng.contracts.rosters import RosterCode
from licheng.course_outcomes.models import KnownPerson, OutcomeFile
from licheng.kit.outbox import OutboxMessage

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(2000)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300)
COURSE_X = "108011302H11101A1010101"
COURSE_Y = "109041305H11101B1010101"
HEADER = "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"


@dataclass
class Term:
    api: Any
    teacher_a: uuid.UUID
    teacher_b: uuid.UUID
    student_1: uuid.UUID
    student_2: uuid.UUID

    @property
    def base(self) -> str:
        return f"/api/course-outcomes/v1/schools/{self.api.school}"

    def student(self, which: int = 1) -> dict[str, str]:
        person = self.student_1 if which == 1 else self.student_2
        return self.api.as_roles("student", person_id=person)

    def teacher(self, which: str = "a") -> dict[str, str]:
        person = self.teacher_a if which == "a" else self.teacher_b
        return self.api.as_roles("course_teacher", person_id=person)

    def submitter(self) -> dict[str, str]:
        return self.api.as_roles("course_submitter", person_id=uuid.uuid4())


async def _known(api: Any) -> int:
    async with api.app.state.session_factory() as session:
        return len((await session.exec(select(KnownPerson))).all())


async def _open_windows(term: Term, **overrides: Any) -> None:
    now = datetime.now(UTC)
    body = {"upload_from": (now - timedelta(days=1)).isoformat(),
            "upload_until": (now + timedelta(days=30)).isoformat(),
            "certify_from": (now - timedelta(days=1)).isoformat(),
            "certify_until": (now + timedelta(days=40)).isoformat(), **overrides}  # fmt: skip
    response = await term.api.client.put(
        f"{term.base}/parameters/115/1", json=body, headers=term.submitter()
    )
    assert response.status_code == 200, response.text


async def _term(api: Any) -> Term:
    teacher_a = await api.announce_person(kind="staff", local_no="T001", name="陳老師")
    teacher_b = await api.announce_person(kind="staff", local_no="T002", name="王老師")
    student_1 = await api.announce_person(
        kind="student", local_no="110001", name="林同學", class_code="101"
    )
    student_2 = await api.announce_person(
        kind="student", local_no="110002", name="吳同學", class_code="101"
    )

    async def four() -> bool:
        return await _known(api) == 4

    await api.eventually(four, "the roster")
    term = Term(api, teacher_a, teacher_b, student_1, student_2)
    rows = [f"115,1,110001,{COURSE_X},國語文,4,1,T001,學期課程",
            f"115,1,110002,{COURSE_X},國語文,4,1,T001,學期課程",
            f"115,1,110001,{COURSE_Y},數學,4,1,T002,學期課程"]  # fmt: skip
    imported = await api.client.post(
        f"{term.base}/course-records/imports",
        params={"academic_year": 115, "semester": 1},
        files={"file": ("修課紀錄.csv", (HEADER + "\n".join(rows)).encode("cp950"))},
        headers=term.submitter(),
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["sections_created"] == 2
    await _open_windows(term)
    return term


async def _courses(term: Term, which: int = 1) -> dict[str, str]:
    response = await term.api.client.get(
        f"{term.base}/me/courses",
        params={"academic_year": 115, "semester": 1},
        headers=term.student(which),
    )
    assert response.status_code == 200
    return {c["course_code"]: c["enrolment_id"] for c in response.json()}


async def _new_outcome(term: Term, course: str = COURSE_X, which: int = 1) -> dict[str, Any]:
    enrolment = (await _courses(term, which))[course]
    created = await term.api.client.post(
        f"{term.base}/outcomes",
        json={"enrolment_id": enrolment, "outcome_type": "書面報告", "brief": "探討唐詩的意象"},
        headers=term.student(which),
    )
    assert created.status_code == 201, created.text
    outcome: dict[str, Any] = created.json()
    upload = await term.api.client.put(
        f"{term.base}/outcomes/{outcome['id']}/files/document",
        files={"file": ("報告.pdf", PDF)},
        headers=term.student(which),
    )
    assert upload.status_code == 200, upload.text
    return upload.json()


async def _submit(term: Term, outcome_id: str, which: int = 1) -> Any:
    return await term.api.client.post(
        f"{term.base}/outcomes/{outcome_id}/submission", headers=term.student(which)
    )


async def _decide(term: Term, outcome_id: str, body: dict[str, Any], who: str = "a") -> Any:
    return await term.api.client.post(
        f"{term.base}/outcomes/{outcome_id}/certification", json=body, headers=term.teacher(who)
    )


async def test_fail_edit_resubmit_certify_select_revoke(course_api: Any) -> None:
    term = await _term(course_api)
    outcome = await _new_outcome(term)
    oid = outcome["id"]
    assert outcome["status"] == "draft"
    assert outcome["files"][0]["sha256"]
    assert (await _submit(term, oid)).json()["status"] == "submitted"

    queue = await term.api.client.get(f"{term.base}/certifications", headers=term.teacher())
    assert [o["id"] for o in queue.json()] == [oid]
    link = await term.api.client.get(
        f"{term.base}/certifications/{oid}/files/document", headers=term.teacher()
    )
    assert link.status_code == 200
    assert "X-Amz-Signature" in link.json()["url"]
    assert (await _decide(term, oid, {"certified": True}, who="b")).status_code == 403
    no_reason = await _decide(term, oid, {"certified": False})
    assert no_reason.status_code == 422
    failed = await _decide(
        term, oid, {"certified": False, "reason_code": "04", "explanation": "請補充心得與反思"}
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
    assert (await _submit(term, oid)).json()["status"] == "submitted"
    certified = await _decide(term, oid, {"certified": True})
    assert certified.json()["status"] == "certified"
    locked_edit = await term.api.client.patch(
        f"{term.base}/outcomes/{oid}", json={"brief": "再改"}, headers=term.student()
    )
    assert locked_edit.status_code == 409

    same = await term.api.client.put(
        f"{term.base}/outcomes/{oid}/files/document",
        files={"file": ("報告.pdf", PDF)},
        headers=term.student(),
    )
    assert same.status_code == 200
    assert same.json()["status"] == "certified"  # identical bytes keep the certification
    other = await term.api.client.put(
        f"{term.base}/outcomes/{oid}/files/document",
        files={"file": ("新報告.pdf", PDF + b"x")},
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


async def test_fourth_selection_is_refused(course_api: Any) -> None:
    term = await _term(course_api)
    ids = []
    for _ in range(4):
        outcome = await _new_outcome(term)
        assert (await _submit(term, outcome["id"])).status_code == 200
        assert (await _decide(term, outcome["id"], {"certified": True})).status_code == 200
        ids.append(outcome["id"])
    url = f"{term.base}/me/selections"
    four = await term.api.client.put(
        url, json={"academic_year": 115, "semester": 1, "outcome_ids": ids}, headers=term.student()
    )
    assert four.status_code == 409
    assert four.json()["error"] == "quota_exceeded"
    assert "3" in four.json()["message"]
    three = await term.api.client.put(
        url,
        json={"academic_year": 115, "semester": 1, "outcome_ids": ids[:3]},
        headers=term.student(),
    )
    assert three.status_code == 200
    assert len(three.json()) == 3


async def test_concurrent_decisions_and_double_submit_have_one_winner(course_api: Any) -> None:
    term = await _term(course_api)
    outcome = await _new_outcome(term)
    submits = await asyncio.gather(_submit(term, outcome["id"]), _submit(term, outcome["id"]))
    assert sorted(r.status_code for r in submits) == [200, 409]
    decisions = await asyncio.gather(
        _decide(term, outcome["id"], {"certified": True}),
        _decide(
            term,
            outcome["id"],
            {"certified": False, "reason_code": "02", "explanation": "無法查證"},
        ),
    )
    assert sorted(r.status_code for r in decisions) == [200, 409]
    conflict = next(r for r in decisions if r.status_code == 409)
    assert conflict.json()["error"] == "not_certifiable"


async def test_windows_files_and_ownership_are_enforced(course_api: Any) -> None:
    term = await _term(course_api)
    outcome = await _new_outcome(term)
    oid = outcome["id"]
    mislabelled = await term.api.client.put(
        f"{term.base}/outcomes/{oid}/files/document",
        files={"file": ("照片.pdf", PNG)},
        headers=term.student(),
    )
    assert mislabelled.status_code == 415
    assert mislabelled.json()["error"] == "file_type_mismatch"
    huge = PDF + bytes(5 * 2**20)
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
    prefix = f"{term.api.school}/{term.student_1}/{oid}/"
    stored = await asyncio.to_thread(
        lambda: [
            o.object_name
            for o in storage.client.list_objects("licheng-uploads", prefix=prefix, recursive=True)
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
    await _open_windows(
        term, upload_from=(past - timedelta(days=30)).isoformat(), upload_until=past.isoformat()
    )
    closed = await term.api.client.patch(
        f"{term.base}/outcomes/{oid}", json={"brief": "改"}, headers=term.student()
    )
    assert closed.status_code == 409
    assert closed.json()["error"] == "window_closed"
    assert past.date().isoformat() in closed.json()["message"]


async def test_reassigned_teacher_certifies(course_api: Any) -> None:
    term = await _term(course_api)
    outcome = await _new_outcome(term)
    await _submit(term, outcome["id"])
    moved = await term.api.client.put(
        f"{term.base}/outcomes/{outcome['id']}/certifier",
        json={"teacher_id": str(term.teacher_b)},
        headers=term.submitter(),
    )
    assert moved.status_code == 200
    assert (await _decide(term, outcome["id"], {"certified": True}, who="a")).status_code == 403
    assert (await _decide(term, outcome["id"], {"certified": True}, who="b")).status_code == 200
    refused = await term.api.client.put(
        f"{term.base}/outcomes/{outcome['id']}/certifier",
        json={"teacher_id": str(term.teacher_a)},
        headers=term.teacher("a"),
    )
    assert refused.status_code == 403


async def test_section_reassignment_moves_undecided_outcomes(course_api: Any) -> None:
    term = await _term(course_api)
    waiting = await _new_outcome(term)
    await _submit(term, waiting["id"])
    done = await _new_outcome(term)
    await _submit(term, done["id"])
    assert (await _decide(term, done["id"], {"certified": True})).status_code == 200
    sections = await term.api.client.get(
        f"{term.base}/sections",
        params={"academic_year": 115, "semester": 1},
        headers=term.submitter(),
    )
    section = next(s for s in sections.json() if s["course_code"] == COURSE_X)
    assert section["certifier_id"] == str(term.teacher_a)
    moved = await term.api.client.put(
        f"{term.base}/sections/{section['id']}/certifier",
        json={"teacher_id": str(term.teacher_b)},
        headers=term.submitter(),
    )
    assert moved.json() == {"outcomes_moved": 1}
    queue = await term.api.client.get(f"{term.base}/certifications", headers=term.teacher("b"))
    assert [o["id"] for o in queue.json()] == [waiting["id"]]
    kept = await term.api.client.get(f"{term.base}/outcomes/{done['id']}", headers=term.student())
    assert kept.json()["certifier_id"] == str(term.teacher_a)  # decided outcomes stay


async def test_submission_request_locks_the_term_until_reopened(course_api: Any) -> None:
    term = await _term(course_api)
    outcome = await _new_outcome(term)
    submission = uuid.uuid4()
    await term.api.publish(
        SubmissionRequested(
            submission_id=submission,
            roster_code=RosterCode.COURSE_OUTCOMES,
            academic_year=115,
            semester=1,
        )
    )
    url = f"{term.base}/outcomes/{outcome['id']}"

    async def locked() -> bool:
        response = await term.api.client.patch(url, json={"brief": "改"}, headers=term.student())
        return response.status_code == 423

    await term.api.eventually(locked, "the term lock")
    refused = await term.api.client.post(f"{url}/submission", headers=term.student())
    assert refused.status_code == 423
    assert refused.json()["error"] == "term_locked"
    assert str(submission) in refused.json()["message"]
    async with term.api.app.state.engine.connect() as connection:
        payloads = (
            (
                await connection.execute(
                    sa.select(OutboxMessage.payload).where(
                        OutboxMessage.subject.like("%.term.locked")
                    )  # type: ignore[attr-defined]
                )
            )
            .scalars()
            .all()
        )
    assert len(payloads) == 1
    locked_event = EventEnvelope.model_validate_json(payloads[0])
    assert OutcomesTermLocked.model_validate(locked_event.data).high_water_mark > 0

    not_admin = await term.api.client.post(
        f"{term.base}/terms/115/1/reopen", headers=term.submitter()
    )
    assert not_admin.status_code == 403
    reopened = await term.api.client.post(
        f"{term.base}/terms/115/1/reopen", headers=term.api.as_roles("admin")
    )
    assert reopened.status_code == 204
    assert (
        await term.api.client.patch(url, json={"brief": "改好了"}, headers=term.student())
    ).status_code == 200


async def test_course_import_validates_and_reimport_is_a_no_op(course_api: Any) -> None:
    term = await _term(course_api)
    rows = [f"115,1,110001,{COURSE_X},國語文,4,1,T001,學期課程",
            f"115,1,110002,{COURSE_X},國語文,4,1,T001,學期課程",
            f"115,1,110001,{COURSE_Y},數學,4,1,T002,學期課程"]  # fmt: skip
    url = f"{term.base}/course-records/imports"
    params = {"academic_year": 115, "semester": 1}
    again = await term.api.client.post(
        url,
        params=params,
        headers=term.submitter(),
        files={"file": ("c.csv", (HEADER + "\n".join(rows)).encode())},
    )
    assert again.json()["sections_created"] == 0
    assert again.json()["enrolments_created"] == 0
    bad = [*rows, f"115,1,110002,{COURSE_Y[:-1]},數學,4,1,T002,學期課程",
           f"115,1,999999,{COURSE_Y},數學,4,1,T002,學期課程"]  # fmt: skip
    refused = await term.api.client.post(
        url,
        params=params,
        headers=term.submitter(),
        files={"file": ("c.csv", (HEADER + "\n".join(bad)).encode())},
    )
    assert refused.status_code == 422
    codes = {(e["row"], e["code"]) for e in refused.json()["detail"]}
    assert codes == {(5, "course_code_length"), (6, "unknown_student")}
    teacher = await term.api.client.post(
        url,
        params=params,
        headers=term.teacher(),
        files={"file": ("c.csv", (HEADER + "\n".join(rows)).encode())},
    )
    assert teacher.status_code == 403


async def test_status_counts_for_staff_homeroom_and_teachers(course_api: Any) -> None:
    term = await _term(course_api)
    extra = await term.api.announce_person(
        kind="student", local_no="110003", name="張同學", class_code="102"
    )
    await term.api.publish(
        ClassUpserted(
            class_id=uuid.uuid4(), class_code="101", grade=1, homeroom_person_id=term.teacher_a
        )
    )

    async def ready() -> bool:
        return await _known(term.api) == 5

    await term.api.eventually(ready, "the third student")
    first = await _new_outcome(term)
    second = await _new_outcome(term, COURSE_Y)
    await _submit(term, first["id"])
    await _submit(term, second["id"])
    await _decide(term, first["id"], {"certified": True})
    await term.api.client.put(
        f"{term.base}/me/selections",
        headers=term.student(),
        json={"academic_year": 115, "semester": 1, "outcome_ids": [first["id"]]},
    )
    url = f"{term.base}/status/students"
    params: dict[str, Any] = {
        "academic_year": 115,
        "semester": 1,
        "sort": "certified",
        "order": "desc",
    }
    staff = await term.api.client.get(url, params=params, headers=term.submitter())
    assert staff.status_code == 200, staff.text
    body = staff.json()
    assert body["total"] == 3
    top = body["items"][0]
    assert (
        top["local_no"],
        top["filled"],
        top["submitted"],
        top["certified"],
        top["failed"],
        top["selected"],
    ) == ("110001", 2, 1, 1, 0, 1)
    assert {i["local_no"] for i in body["items"][1:]} == {"110002", "110003"}

    async def homeroom_known() -> bool:
        mine = await term.api.client.get(
            url,
            params={"academic_year": 115, "semester": 1},
            headers=term.api.as_roles("homeroom_teacher", person_id=term.teacher_a),
        )
        return mine.status_code == 200 and mine.json()["total"] == 2

    await term.api.eventually(homeroom_known, "the homeroom class")
    other_class = await term.api.client.get(
        url,
        params={"academic_year": 115, "semester": 1, "class_code": "102"},
        headers=term.api.as_roles("homeroom_teacher", person_id=term.teacher_a),
    )
    assert other_class.json()["total"] == 0
    assert extra
    paged = await term.api.client.get(url, params={**params, "limit": 2}, headers=term.submitter())
    assert paged.json()["next_cursor"]
    student = await term.api.client.get(url, params=params, headers=term.student())
    assert student.status_code == 403
    teachers = await term.api.client.get(
        f"{term.base}/status/teachers",
        params={"academic_year": 115, "semester": 1},
        headers=term.submitter(),
    )
    by_no = {t["local_no"]: t for t in teachers.json()}
    assert (by_no["T001"]["pending"], by_no["T001"]["succeeded"]) == (0, 1)
    assert (by_no["T002"]["pending"], by_no["T002"]["succeeded"]) == (1, 0)


async def _count_outcomes(term: Term) -> int:
    from licheng.course_outcomes.models import Outcome

    async with term.api.app.state.session_factory() as session:
        return len((await session.exec(select(Outcome))).all())


async def test_idempotency_key_makes_retries_harmless(course_api: Any) -> None:
    term = await _term(course_api)
    enrolment = (await _courses(term))[COURSE_X]
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
    assert await _count_outcomes(term) == 1

    together = await asyncio.gather(*(
        term.api.client.post(f"{term.base}/outcomes", json=body,
                             headers={**term.student(), "idempotency-key": "race"})
        for _ in range(3)))  # fmt: skip
    assert {r.status_code for r in together} <= {201, 409}
    assert await _count_outcomes(term) == 2  # the race made exactly one more

    other = (await _courses(term, 2))[COURSE_X]
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
        files={"file": ("a.pdf", PDF)},
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
