"""校內幹部 records over HTTP: imports, the 校務行政系統 sync, lists, counts, who may do what."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import col, select

from licheng.contracts.events import PersonUpserted, SubmissionRequested
from licheng.kit.audit import AuditEntry
from licheng.kit.outbox import OutboxMessage
from licheng.performances.models import Cadre, KnownPerson, RosterLock
from licheng.testing.workbooks import xlsx_bytes

HEADER = ("學年", "學期", "學號", "單位名稱", "開始日期", "結束日期", "擔任職務", "幹部等級")
SAMPLE = ("104", "1", "104590000", "熱舞社", "1040907", "1070907", "人員", "3")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _csv(rows: list[tuple[str, ...]], encoding: str = "utf-8") -> bytes:
    return "\n".join(",".join(row) for row in [HEADER, *rows]).encode(encoding)


async def _import(school: Any, data: bytes, name: str = "幹部.csv", headers: Any = None) -> Any:
    return await school.api.client.post(
        f"{school.base}/cadres/imports",
        files={"file": (name, data)},
        headers=headers or school.as_role("cadre_submitter"),
    )


async def _sync(school: Any, records: list[dict[str, Any]], headers: Any = None) -> Any:
    return await school.api.client.post(
        f"{school.base}/cadres/sync",
        json={"records": records},
        headers=headers or school.api.issuer.headers(roles=["service"], azp="school-sis"),
    )


async def _counts(school: Any) -> tuple[int, int, int]:
    return (await school.api.count(Cadre), await school.api.count(AuditEntry),
            await school.api.count(OutboxMessage))  # fmt: skip


async def _pilot_student(school: Any) -> uuid.UUID:
    """The pilot template's sample 學號 104590000, in class 103."""
    person_id = uuid.uuid4()
    await school.api.publish(
        PersonUpserted(person_id=person_id, kind="student", local_no="104590000", name="王同學",
                       username="s104590000", class_code="103", seat_no=7, status="在籍")
    )  # fmt: skip

    async def arrived() -> bool:
        return await school.api.count(KnownPerson) == 5

    await school.api.eventually(arrived, "the pilot student")
    return person_id


def _record(student_no: str = "110001", **overrides: Any) -> dict[str, Any]:
    return {"academic_year": 115, "semester": 1, "student_no": student_no, "unit_name": "學生會",
            "role_title": "會長", "level": 1, "start_date": "2026-09-01",
            "end_date": "1160131", **overrides}  # fmt: skip


async def test_the_pilot_sample_imports_from_big5_and_xlsx_and_reimport_is_a_no_op(
    school: Any,
) -> None:
    student_id = await _pilot_student(school)
    first = await _import(school, _csv([SAMPLE], "cp950"))
    assert first.status_code == 200, first.text
    assert first.json() == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0}
    listed = await school.api.client.get(f"{school.base}/cadres",
                                         headers=school.as_role("cadre_submitter"))  # fmt: skip
    (item,) = listed.json()["items"]
    assert item["student"] == {"id": str(student_id), "student_no": "104590000",
                               "name": "王同學", "class_code": "103", "seat_no": 7}  # fmt: skip
    assert (item["unit_name"], item["role_title"], item["level"], item["level_name"]) == (
        "熱舞社", "人員", 3, "社團幹部")  # fmt: skip
    assert (item["start_date"], item["end_date"], item["source"]) == (
        "2015-09-07", "2018-09-07", "import")  # fmt: skip

    before = await _counts(school)
    again = await _import(school, _csv([SAMPLE], "cp950"))
    assert again.json() == {"rows": 1, "created": 0, "updated": 0, "unchanged": 1}
    workbook = xlsx_bytes(HEADER, [(104, 1, 104590000, "熱舞社", 1040907, "2018-09-07", "人員", 3)])
    same = await _import(school, workbook, "幹部.xlsx")
    assert same.json() == {"rows": 1, "created": 0, "updated": 0, "unchanged": 1}
    assert await _counts(school) == before  # no audit rows, no events

    changed = xlsx_bytes(HEADER, [(104, 1, 104590000, "熱舞社", "104/09/07", "", "人員", 2)])
    updated = await _import(school, changed, "幹部.xlsx")
    assert updated.json() == {"rows": 1, "created": 0, "updated": 1, "unchanged": 0}
    cadres, audits, events = await _counts(school)
    assert (cadres, audits, events) == (before[0], before[1] + 1, before[2] + 1)
    async with school.api.app.state.session_factory() as session:
        newest = col(AuditEntry.occurred_at).desc()
        audits = select(AuditEntry).where(AuditEntry.entity == "cadre").order_by(newest)
        audit = (await session.exec(audits)).first()
        last = select(OutboxMessage).order_by(col(OutboxMessage.seq).desc())
        message = (await session.exec(last)).first()
    assert audit is not None
    assert audit.action == "cadre.recorded"
    assert audit.before is not None
    assert audit.after is not None
    assert (audit.before["level"], audit.after["level"]) == (3, 2)
    assert audit.actor_id == school.staff["cadre_submitter"]
    assert message is not None
    assert message.subject.endswith(".cadre.recorded")
    assert '"end_date":null' in message.payload
    assert "104590000" not in message.payload


async def test_bad_rows_are_refused_and_nothing_is_written(school: Any) -> None:
    rows = [
        ("115", "1", "110001", "學生會", "1150901", "1160131", "會長", "4"),
        ("115", "1", "110002", "101 班", "2026-09-01", "", "班長", "0"),
        ("115", "1", "999999", "熱舞社", "1150901", "", "社長", "3"),
        ("115", "3", "110003", "熱舞社", "1150901", "1150801", "社長", "3"),
    ]
    refused = await _import(school, _csv(rows))
    assert refused.status_code == 422
    body = refused.json()
    assert body["error"] == "invalid_rows"
    found = {(e["row"], e["column"], e["code"]) for e in body["detail"]}
    assert found == {(2, "幹部等級", "level_invalid"), (3, "幹部等級", "level_invalid"),
                     (4, "學號", "unknown_student"), (5, "學期", "semester_invalid"),
                     (5, "結束日期", "date_range_invalid")}  # fmt: skip
    level = next(e for e in body["detail"] if e["code"] == "level_invalid")
    assert "幹部等級只能為 1～3" in level["message"]
    assert await _counts(school) == (0, 0, 0)
    unreadable = await _import(school, b"\x00\x01", "c.xls")
    assert unreadable.status_code == 400


async def test_the_json_sync_takes_service_tokens_only(school: Any) -> None:
    synced = await _sync(school, [_record(), _record("110003", role_title="副會長", level="2")])
    assert synced.status_code == 200, synced.text
    assert synced.json() == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    again = await _sync(school, [_record()])
    assert again.json() == {"rows": 1, "created": 0, "updated": 0, "unchanged": 1}
    async with school.api.app.state.session_factory() as session:
        audits = (await session.exec(select(AuditEntry).where(AuditEntry.entity == "cadre"))).all()
    assert {a.actor_id for a in audits} == {None}
    assert {(a.after or {}).get("client") for a in audits} == {"school-sis"}
    assert {(a.after or {}).get("source") for a in audits} == {"api"}

    bad = await _sync(school, [_record(), _record("999999"), _record(level=4, start_date="x")])
    assert bad.status_code == 422
    assert bad.json()["error"] == "invalid_records"
    found = {(p["index"], p["field"], p["code"]) for p in bad.json()["detail"]}
    assert found == {(1, "student_no", "unknown_student"), (2, "level", "level_invalid"),
                     (2, "start_date", "date_invalid")}  # fmt: skip
    assert await school.api.count(Cadre) == 2
    for headers in (school.as_role("cadre_submitter"), school.as_role("admin"), school.student()):
        denied = await _sync(school, [_record(level=2)], headers=headers)
        assert denied.status_code == 403
        assert denied.json()["error"] == "service_only"
    too_many = await _sync(school, [_record(unit_name=f"社{i}") for i in range(2001)])
    assert too_many.status_code == 422


async def test_students_read_their_own_cadres_and_write_nothing(school: Any) -> None:
    await _sync(school, [_record(), _record(semester=2, start_date="1160201", end_date=None),
                         _record("110002", role_title="副會長")])  # fmt: skip
    mine = await school.api.client.get(f"{school.base}/me/cadres", headers=school.student())
    assert mine.status_code == 200
    assert mine.json()["total"] == 2
    assert [(i["semester"], i["role_title"]) for i in mine.json()["items"]] == [
        (2, "會長"), (1, "會長")]  # fmt: skip
    assert {i["student"]["student_no"] for i in mine.json()["items"]} == {"110001"}
    other_year = await school.api.client.get(
        f"{school.base}/me/cadres", params={"academic_year": 114}, headers=school.student()
    )
    assert other_year.json()["total"] == 0
    cadre_id = mine.json()["items"][0]["id"]
    refused_import = await _import(school, _csv([SAMPLE]), headers=school.student())
    assert refused_import.status_code == 403
    refused_delete = await school.api.client.delete(f"{school.base}/cadres/{cadre_id}",
                                                    headers=school.student())  # fmt: skip
    assert refused_delete.status_code == 403
    refused_list = await school.api.client.get(f"{school.base}/cadres", headers=school.student())
    assert refused_list.status_code == 403
    staff = await school.api.client.get(f"{school.base}/me/cadres",
                                        headers=school.as_role("cadre_submitter"))  # fmt: skip
    assert staff.status_code == 403
    assert await school.api.count(Cadre) == 3


async def test_homeroom_teachers_see_their_class_and_counts_are_per_student_and_class(
    school: Any,
) -> None:
    await _sync(school, [
        _record(), _record(unit_name="101 班", role_title="班長", level=2),
        _record("110002", unit_name="熱舞社", role_title="社長", level=3),
        _record("110003", unit_name="102 班", role_title="班長", level=2),
        _record("110003", semester=2, unit_name="102 班", role_title="班長", level=2,
                start_date="1160201", end_date=None),
    ])  # fmt: skip
    homeroom = await school.api.client.get(f"{school.base}/cadres", headers=school.homeroom())
    assert homeroom.status_code == 200
    assert homeroom.json()["total"] == 3
    assert {i["student"]["class_code"] for i in homeroom.json()["items"]} == {"101"}
    elsewhere = await school.api.client.get(
        f"{school.base}/cadres", params={"class_code": "102"}, headers=school.homeroom()
    )
    assert elsewhere.json()["total"] == 0
    staff = school.as_role("cadre_submitter")
    everyone = await school.api.client.get(
        f"{school.base}/cadres", params={"academic_year": 115, "semester": 1, "limit": 2},
        headers=staff,
    )  # fmt: skip
    assert everyone.json()["total"] == 4
    assert len(everyone.json()["items"]) == 2
    following = await school.api.client.get(
        f"{school.base}/cadres",
        params={"academic_year": 115, "semester": 1, "limit": 2,
                "cursor": everyone.json()["next_cursor"]},
        headers=staff,
    )  # fmt: skip
    seen = [i["id"] for i in everyone.json()["items"] + following.json()["items"]]
    assert len(set(seen)) == 4
    one_student = await school.api.client.get(
        f"{school.base}/cadres", params={"student_id": str(school.students["110003"])},
        headers=staff,
    )  # fmt: skip
    assert one_student.json()["total"] == 2

    counts = await school.api.client.get(
        f"{school.base}/cadres/counts", params={"academic_year": 115, "semester": 1},
        headers=staff,
    )  # fmt: skip
    assert counts.status_code == 200
    by_no = {r["student_no"]: r for r in counts.json()["items"]}
    assert counts.json()["total"] == 3
    assert (by_no["110001"]["cadres"], by_no["110001"]["school_level"],
            by_no["110001"]["class_level"]) == (2, 1, 1)  # fmt: skip
    assert (by_no["110002"]["name"], by_no["110002"]["class_code"], by_no["110002"]["seat_no"],
            by_no["110002"]["club_level"]) == ("吳同學", "101", 2, 1)  # fmt: skip
    assert by_no["110003"]["cadres"] == 1
    year = await school.api.client.get(f"{school.base}/cadres/counts",
                                       params={"academic_year": 115}, headers=staff)  # fmt: skip
    assert {r["student_no"]: r["cadres"] for r in year.json()["items"]}["110003"] == 2
    mine = await school.api.client.get(f"{school.base}/cadres/counts", headers=school.homeroom())
    assert {r["student_no"] for r in mine.json()["items"]} == {"110001", "110002"}

    classes = await school.api.client.get(
        f"{school.base}/cadres/counts/classes", params={"academic_year": 115, "semester": 1},
        headers=school.as_role("performance_submitter"),
    )  # fmt: skip
    assert classes.status_code == 200
    by_class = {r["class_code"]: r for r in classes.json()["items"]}
    assert classes.json()["total"] == 2
    assert (
        by_class["101"]["students"],
        by_class["101"]["students_with_cadres"],
        by_class["101"]["cadres"],
        by_class["101"]["homeroom_name"],
    ) == (2, 2, 3, "陳導師")
    assert (by_class["102"]["cadres"], by_class["102"]["class_level"]) == (1, 1)
    homeroom_classes = await school.api.client.get(f"{school.base}/cadres/counts/classes",
                                                   headers=school.homeroom())  # fmt: skip
    assert [r["class_code"] for r in homeroom_classes.json()["items"]] == ["101"]
    for role in ("student", "course_teacher"):
        denied = await school.api.client.get(f"{school.base}/cadres/counts",
                                             headers=school.as_role(role))  # fmt: skip
        assert denied.status_code == 403, role


async def test_a_locked_roster_24_refuses_imports_and_deletes(school: Any) -> None:
    await _sync(school, [_record(), _record(semester=2, start_date="1160201", end_date=None)])
    listed = await school.api.client.get(f"{school.base}/cadres",
                                         headers=school.as_role("cadre_submitter"))  # fmt: skip
    by_semester = {i["semester"]: i["id"] for i in listed.json()["items"]}
    submission = uuid.uuid4()
    await school.api.publish(SubmissionRequested(submission_id=submission, roster_code="24",
                                                 academic_year=115, semester=1))  # fmt: skip

    async def locked() -> bool:
        return await school.api.count(RosterLock) == 1

    await school.api.eventually(locked, "名冊 24 locked")
    before = await _counts(school)
    rows = [("115", "2", "110002", "熱舞社", "1160201", "", "社長", "3"),
            ("115", "1", "110002", "熱舞社", "1150901", "", "社長", "3")]  # fmt: skip
    refused = await _import(school, _csv(rows))
    assert refused.status_code == 423
    assert refused.json()["error"] == "roster_locked"
    assert str(submission) in refused.json()["message"]
    assert refused.json()["detail"]["semester"] == 1
    refused_sync = await _sync(school, [_record(level=2)])
    assert refused_sync.status_code == 423
    refused_delete = await school.api.client.delete(
        f"{school.base}/cadres/{by_semester[1]}", headers=school.as_role("cadre_submitter")
    )
    assert refused_delete.status_code == 423
    assert await _counts(school) == before
    other_term = await _import(school, _csv(rows[:1]))
    assert other_term.json()["created"] == 1
    deleted = await school.api.client.delete(
        f"{school.base}/cadres/{by_semester[2]}", headers=school.as_role("cadre_submitter")
    )
    assert deleted.status_code == 204
    async with school.api.app.state.session_factory() as session:
        removal = select(AuditEntry).where(
            AuditEntry.entity_id == by_semester[2], AuditEntry.action == "cadre.removed"
        )
        removed = (await session.exec(removal)).one()
    assert removed.before is not None
    assert removed.before["semester"] == 2
    gone = await school.api.client.delete(
        f"{school.base}/cadres/{by_semester[2]}", headers=school.as_role("cadre_submitter")
    )
    assert gone.status_code == 404


async def test_another_schools_cadres_are_invisible(school: Any) -> None:
    await _sync(school, [_record()])
    listed = await school.api.client.get(f"{school.base}/cadres",
                                         headers=school.as_role("cadre_submitter"))  # fmt: skip
    cadre_id = listed.json()["items"][0]["id"]
    other = "999999" if school.api.school != "999999" else "999998"
    other_base = f"/api/performances/v1/schools/{other}"
    theirs = school.api.issuer.headers(groups=[f"/schools/{other}/cadre_submitter"])
    empty = await school.api.client.get(f"{other_base}/cadres", headers=theirs)
    assert empty.status_code == 200
    assert empty.json()["total"] == 0
    counts = await school.api.client.get(f"{other_base}/cadres/counts", headers=theirs)
    assert counts.json()["total"] == 0
    missing = await school.api.client.delete(f"{other_base}/cadres/{cadre_id}", headers=theirs)
    assert missing.status_code == 404
    crossing = await school.api.client.get(f"{school.base}/cadres", headers=theirs)
    assert crossing.status_code == 403
    unknown_there = await school.api.client.post(
        f"{other_base}/cadres/sync", json={"records": [_record()]},
        headers=school.api.issuer.headers(roles=["service"], azp="school-sis"),
    )  # fmt: skip
    assert unknown_there.status_code == 422
    assert unknown_there.json()["detail"][0]["code"] == "unknown_student"
    assert await school.api.count(Cadre) == 1


async def test_the_template_downloads_for_cadre_staff(school: Any) -> None:
    template = await school.api.client.get(f"{school.base}/cadres/template",
                                           headers=school.as_role("cadre_submitter"))  # fmt: skip
    assert template.status_code == 200
    assert template.headers["content-type"] == XLSX
    assert "attachment" in template.headers["content-disposition"]
    unchanged = await _import(school, template.content, "cadres-template.xlsx")
    assert unchanged.json() == {"rows": 0, "created": 0, "updated": 0, "unchanged": 0}
    denied = await school.api.client.get(
        f"{school.base}/cadres/template", headers=school.as_role("performance_submitter")
    )
    assert denied.status_code == 403
