"""Identity through its HTTP API on real PostgreSQL, NATS and S3 (Keycloak sync is tested apart)."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from licheng.kit.audit import AuditEntry
from licheng.kit.outbox import OutboxMessage

STAFF_HEADER = ["教師編號", "姓名", "email"]
CLASS_HEADER = ["班級代碼", "年級", "班級名稱", "導師"]
CLASSES = ["101", "102", "201"]


async def _count(api: Any, table: Any) -> int:
    async with api.app.state.engine.connect() as connection:
        return int(
            (await connection.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()
        )


async def _seed(api: Any, files: Any, students: int = 30) -> dict[str, Any]:
    admin = api.as_admin()
    staff = files.csv(
        STAFF_HEADER,
        [
            ["T001", "陳老師", "chen@school.tw"],
            ["T002", "林老師", ""],
            ["T003", "張老師", "chang@school.tw"],
        ],
    )
    assert (await api.upload("staff", "staff.csv", staff, admin)).status_code == 200
    classes = files.xlsx(
        CLASS_HEADER,
        [["101", 1, "普一甲", "T001"], ["102", 1, "普一乙", "T002"], ["201", 2, "普二甲", ""]],
    )
    assert (await api.upload("classes", "classes.xlsx", classes, admin)).status_code == 200
    rows = files.student_rows(students, CLASSES)
    response = await api.upload(
        "students", "students.xlsx", files.xlsx(files.STUDENT_HEADER, rows), admin
    )
    assert response.status_code == 200, response.text
    staff_list = (
        await api.client.get(f"/api/identity/v1/schools/{api.school}/staff", headers=admin)
    ).json()["items"]
    return {"rows": rows, "staff": {p["local_no"]: p for p in staff_list}}


async def test_imports_create_then_reimport_is_a_no_op(api: Any, files: Any) -> None:
    seeded = await _seed(api, files, students=2000)
    outbox_before = await _count(api, OutboxMessage)
    audit_before = await _count(api, AuditEntry)
    again = await api.upload(
        "students",
        "students.xlsx",
        files.xlsx(files.STUDENT_HEADER, seeded["rows"]),
        api.as_admin(),
    )
    assert again.json() == {
        "kind": "students",
        "total": 2000,
        "created": 0,
        "updated": 0,
        "unchanged": 2000,
    }
    assert await _count(api, OutboxMessage) == outbox_before
    assert await _count(api, AuditEntry) == audit_before
    changed = [list(r) for r in seeded["rows"]]
    changed[0][3] = 99  # a new 座號
    result = await api.upload(
        "students", "s.xlsx", files.xlsx(files.STUDENT_HEADER, changed), api.as_admin()
    )
    assert result.json()["updated"] == 1


async def test_big5_csv_students_import(api: Any, files: Any) -> None:
    await _seed(api, files, students=0)
    rows = files.student_rows(5, CLASSES, seed=99)
    rows[0][1] = "許功蓋"
    response = await api.upload(
        "students", "學生.csv", files.csv(files.STUDENT_HEADER, rows, "cp950"), api.as_admin()
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 5
    listed = await api.client.get(
        f"/api/identity/v1/schools/{api.school}/students?limit=200", headers=api.as_admin()
    )
    names = {p["name"] for p in listed.json()["items"]}
    assert "許功蓋" in names


async def test_one_bad_checksum_writes_nothing_and_names_the_row(api: Any, files: Any) -> None:
    await _seed(api, files, students=0)
    rows = files.student_rows(20, CLASSES, seed=5)
    good = rows[7][4]
    rows[7][4] = good[:-1] + str((int(good[-1]) + 1) % 10)
    people_before = await _count(api, sa.table("person"))
    response = await api.upload(
        "students", "students.xlsx", files.xlsx(files.STUDENT_HEADER, rows), api.as_admin()
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_rows"
    assert len(body["detail"]) == 1
    problem = body["detail"][0]
    assert (problem["row"], problem["column"], problem["code"]) == (
        9,
        "身分證號",
        "national_id_checksum",
    )
    assert rows[7][4] not in response.text
    assert await _count(api, sa.table("person")) == people_before


async def test_responses_mask_identifiers_and_events_never_carry_them(api: Any, files: Any) -> None:
    seeded = await _seed(api, files, students=3)
    listed = await api.client.get(
        f"/api/identity/v1/schools/{api.school}/students", headers=api.as_admin()
    )
    first = listed.json()["items"][0]
    raw = next(r for r in seeded["rows"] if r[0] == first["local_no"])
    assert first["national_id_masked"] == raw[4][:3] + "****" + raw[4][-3:]
    assert raw[4] not in listed.text
    assert raw[5] not in listed.text
    async with api.app.state.engine.connect() as connection:
        payloads = (await connection.execute(sa.select(OutboxMessage.payload))).scalars().all()  # type: ignore[call-overload]
        audits = (await connection.execute(sa.select(AuditEntry.after))).scalars().all()  # type: ignore[call-overload]
    everything = " ".join(payloads) + " ".join(map(str, audits))
    for row in seeded["rows"]:
        assert row[4] not in everything
        assert row[5] not in everything


async def test_scopes_homeroom_sees_own_class_and_student_sees_self(api: Any, files: Any) -> None:
    seeded = await _seed(api, files, students=12)
    teacher = seeded["staff"]["T001"]  # 導師 of 101
    url = f"/api/identity/v1/schools/{api.school}/students?limit=200"
    mine = await api.client.get(
        url, headers=api.as_roles("homeroom_teacher", person_id=uuid.UUID(teacher["id"]))
    )
    assert mine.status_code == 200
    assert {p["class_code"] for p in mine.json()["items"]} == {"101"}
    everyone = (await api.client.get(url, headers=api.as_admin())).json()
    student = everyone["items"][0]
    own = await api.client.get(
        url, headers=api.as_roles("student", person_id=uuid.UUID(student["id"]))
    )
    assert [p["id"] for p in own.json()["items"]] == [student["id"]]


async def test_pagination_with_cursor(api: Any, files: Any) -> None:
    await _seed(api, files, students=25)
    url = f"/api/identity/v1/schools/{api.school}/students?limit=10"
    seen: list[str] = []
    cursor = ""
    while True:
        page = (await api.client.get(url + cursor, headers=api.as_admin())).json()
        assert page["total"] == 25
        seen += [p["id"] for p in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert len(seen) == len(set(seen)) == 25
    bad = await api.client.get(url + "&cursor=bm9wZQ", headers=api.as_admin())
    assert bad.status_code == 400


async def test_grants_need_permissions_manage_and_are_audited(api: Any, files: Any) -> None:
    seeded = await _seed(api, files, students=0)
    teacher = seeded["staff"]["T002"]["id"]
    url = f"/api/identity/v1/schools/{api.school}/staff/{teacher}/roles/course_teacher"
    refused = await api.client.put(url, headers=api.as_roles("course_submitter"))
    assert refused.status_code == 403
    assert (await api.client.put(url, headers=api.as_admin())).status_code == 201
    assert (await api.client.put(url, headers=api.as_admin())).status_code == 200
    not_grantable = await api.client.put(
        url.replace("course_teacher", "student"), headers=api.as_admin()
    )
    assert not_grantable.status_code == 400
    assert (await api.client.delete(url, headers=api.as_admin())).status_code == 204
    audit = await api.client.get(
        f"/api/identity/v1/schools/{api.school}/audit?person_id={teacher}&action=grant.granted",
        headers=api.as_admin(),
    )
    assert audit.status_code == 200
    assert audit.json()["total"] == 1
    assert audit.json()["items"][0]["after"]["role"] == "course_teacher"
    revoked = await api.client.get(
        f"/api/identity/v1/schools/{api.school}/audit?action=grant.revoked", headers=api.as_admin()
    )
    assert revoked.json()["total"] == 1


async def test_admin_of_one_school_cannot_touch_another(api: Any, files: Any) -> None:
    await _seed(api, files, students=2)
    other = f"{(int(api.school) + 1) % 10**6:06d}"
    outsider = api.issuer.headers(groups=[f"/schools/{other}/admin"])
    base = f"/api/identity/v1/schools/{api.school}"
    for method, path in (
        ("GET", "/students"),
        ("GET", "/staff"),
        ("GET", "/audit"),
        ("GET", ""),
        ("POST", "/announcements"),
    ):
        response = await api.client.request(
            method, base + path, headers=outsider, json={"title": "x", "body": "y"}
        )
        assert response.status_code in (403, 404), (path, response.status_code)
        assert "items" not in response.text


async def test_announcements_schedule_audience_and_versions(api: Any, files: Any) -> None:
    base = f"/api/identity/v1/schools/{api.school}/announcements"
    admin = api.as_admin()
    now = datetime.now(UTC)
    posts = [
        {"title": "全校公告", "body": "週五停課", "audience": "all"},
        {"title": "教師研習", "body": "下午三點", "audience": "staff"},
        {"title": "學生選課", "body": "請於期限內選課", "audience": "students"},
        {
            "title": "下週公告",
            "body": "尚未上架",
            "audience": "all",
            "publish_from": (now + timedelta(days=7)).isoformat(),
        },
        {
            "title": "已下架",
            "body": "過期",
            "audience": "all",
            "publish_from": (now - timedelta(days=7)).isoformat(),
            "publish_until": (now - timedelta(days=1)).isoformat(),
        },
    ]
    created = [await api.client.post(base, json=p, headers=admin) for p in posts]
    assert all(r.status_code == 201 for r in created)
    teacher = await api.client.get(base, headers=api.as_roles("course_teacher"))
    assert sorted(a["title"] for a in teacher.json()) == ["全校公告", "教師研習"]
    student = await api.client.get(base, headers=api.as_roles("student"))
    assert sorted(a["title"] for a in student.json()) == ["全校公告", "學生選課"]
    every = await api.client.get(base + "?include_scheduled=true", headers=admin)
    assert len(every.json()) == 5
    assert (
        await api.client.get(base + "?include_scheduled=true", headers=api.as_roles("student"))
    ).status_code == 403
    first = created[0].json()
    url = f"{base}/{first['id']}"
    edited = await api.client.patch(
        url, json={"body": "週五下午停課"}, headers={**admin, "if-match": str(first["version"])}
    )
    assert edited.status_code == 200
    assert edited.json()["version"] == 2
    stale = await api.client.patch(
        url, json={"body": "再改"}, headers={**admin, "if-match": str(first["version"])}
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == "version_conflict"
    assert (
        await api.client.post(base, json=posts[0], headers=api.as_roles("course_teacher"))
    ).status_code == 403
    assert (await api.client.delete(url, headers=admin)).status_code == 204
    assert (await api.client.delete(url, headers=admin)).status_code == 404


async def test_student_updates_own_phone_only(api: Any, files: Any) -> None:
    await _seed(api, files, students=2)
    everyone = (
        await api.client.get(
            f"/api/identity/v1/schools/{api.school}/students", headers=api.as_admin()
        )
    ).json()["items"]
    me = everyone[0]
    headers = api.as_roles("student", person_id=uuid.UUID(me["id"]))
    url = f"/api/identity/v1/schools/{api.school}/me/profile"
    updated = await api.client.patch(url, json={"phone": "0912-345-678"}, headers=headers)
    assert updated.status_code == 200, updated.text
    assert updated.json()["phone"] == "0912-345-678"
    assert updated.json()["name"] == me["name"]
    official = await api.client.patch(url, json={"name": "改名"}, headers=headers)
    assert official.status_code == 200
    assert official.json()["name"] == me["name"]
    bad = await api.client.patch(url, json={"phone": "call me"}, headers=headers)
    assert bad.status_code == 422
    teacher = await api.client.patch(url, json={"phone": "0912"}, headers=api.as_admin())
    assert teacher.status_code == 403


async def test_internal_identifiers_for_service_tokens_only(api: Any, files: Any) -> None:
    seeded = await _seed(api, files, students=3)
    everyone = (
        await api.client.get(
            f"/api/identity/v1/schools/{api.school}/students", headers=api.as_admin()
        )
    ).json()["items"]
    ids = [p["id"] for p in everyone]
    body = {"student_ids": [*ids, str(uuid.uuid4())], "purpose": "export-job-1"}
    refused = await api.client.post("/internal/v1/identifiers", json=body, headers=api.as_admin())
    assert refused.status_code == 403
    service = api.issuer.headers(roles=["service"], azp="licheng-exports")
    answer = await api.client.post("/internal/v1/identifiers", json=body, headers=service)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    by_no = {r[0]: r for r in seeded["rows"]}
    for item in answer.json()["items"]:
        row = next(by_no[p["local_no"]] for p in everyone if p["id"] == item["student_id"])
        assert (item["national_id"], item["birth_date"]) == (row[4], row[5])
    assert len(answer.json()["missing"]) == 1
    audit = await api.client.get(
        f"/api/identity/v1/schools/{api.school}/audit?action=identifiers.disclosed",
        headers=api.as_admin(),
    )
    assert audit.json()["total"] == 1
    assert audit.json()["items"][0]["after"]["client"] == "licheng-exports"


async def test_operator_only_creates_schools(api: Any) -> None:
    payload = {
        "code": f"{random.randrange(10**6):06d}",
        "name": "另一校",
        "academic_year": 115,
        "semester": 1,
        "admin": {"staff_no": "X1", "name": "管理者"},
    }
    refused = await api.client.post(
        "/api/identity/v1/schools", json=payload, headers=api.as_admin()
    )
    assert refused.status_code == 403
    duplicate = await api.client.post(
        "/api/identity/v1/schools", json={**payload, "code": api.school}, headers=api.operator()
    )
    assert duplicate.status_code == 409
    bad_code = await api.client.post(
        "/api/identity/v1/schools", json={**payload, "code": "12345"}, headers=api.operator()
    )
    assert bad_code.status_code == 422


async def test_dev_issuer_signs_tokens_services_accept(api: Any, files: Any) -> None:
    seeded = await _seed(api, files, students=1)
    username = seeded["staff"]["T001"]["username"]
    wrong = await api.client.post(
        "/api/identity/v1/dev-auth/token", json={"username": username, "password": "nope"}
    )
    assert wrong.status_code == 401
    token = await api.client.post(
        "/api/identity/v1/dev-auth/token", json={"username": username, "password": "demo"}
    )
    assert token.status_code == 200
    jwks = (await api.client.get("/api/identity/v1/dev-auth/jwks")).json()
    assert jwks["keys"][0]["kty"] == "RSA"
    import jwt

    claims = jwt.decode(token.json()["access_token"], options={"verify_signature": False})
    assert claims["groups"] == [f"/schools/{api.school}/homeroom_teacher"]
    assert claims["pid"] == seeded["staff"]["T001"]["id"]


async def test_audit_log_filters_by_date(api: Any, files: Any) -> None:
    await _seed(api, files, students=1)
    base = f"/api/identity/v1/schools/{api.school}/audit"
    now = datetime.now(UTC)
    recent = await api.client.get(
        base, params={"since": (now - timedelta(minutes=5)).isoformat()}, headers=api.as_admin()
    )
    assert recent.json()["total"] > 0
    future = await api.client.get(
        base, params={"since": (now + timedelta(minutes=5)).isoformat()}, headers=api.as_admin()
    )
    assert future.json()["total"] == 0
    before = await api.client.get(
        base, params={"until": (now - timedelta(days=1)).isoformat()}, headers=api.as_admin()
    )
    assert before.json()["total"] == 0
    teacher = await api.client.get(base, headers=api.as_roles("course_teacher"))
    assert teacher.status_code == 403


async def test_announcement_times_keep_their_instant_and_need_an_offset(api: Any) -> None:
    base = f"/api/identity/v1/schools/{api.school}/announcements"
    admin = api.as_admin()
    posted = await api.client.post(
        base,
        json={
            "title": "開學典禮",
            "body": "早上八點",
            "publish_from": "2026-09-01T08:00:00+08:00",
            "publish_until": "2026-09-30T17:00:00+08:00",
        },
        headers=admin,
    )
    assert posted.status_code == 201, posted.text
    listed = await api.client.get(base + "?include_scheduled=true", headers=admin)
    [item] = listed.json()
    # Read back as the same instant (UTC), with its offset: never 08:00 without one.
    assert datetime.fromisoformat(item["publish_from"]) == datetime(2026, 9, 1, 0, 0, tzinfo=UTC)
    assert datetime.fromisoformat(item["publish_until"]).utcoffset() is not None
    assert datetime.fromisoformat(item["publish_until"]) == datetime(2026, 9, 30, 9, 0, tzinfo=UTC)

    naive = await api.client.post(
        base,
        json={"title": "無時區", "body": "x", "publish_from": "2026-09-01T08:00:00"},
        headers=admin,
    )
    assert naive.status_code == 422
    assert naive.json()["error"] == "request_invalid"
    assert "publish_from" in naive.json()["message"]
    assert "時區" in naive.json()["message"]
    assert len((await api.client.get(base + "?include_scheduled=true", headers=admin)).json()) == 1


async def test_concurrent_edits_with_the_same_version_have_one_winner(api: Any) -> None:
    base = f"/api/identity/v1/schools/{api.school}/announcements"
    admin = api.as_admin()
    created = await api.client.post(
        base, json={"title": "段考", "body": "第一次段考"}, headers=admin
    )
    url = f"{base}/{created.json()['id']}"
    edits = [
        api.client.patch(url, json={"body": f"版本 {n}"}, headers={**admin, "if-match": "1"})
        for n in range(4)
    ]
    answers = await asyncio.gather(*edits)
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409]
    assert {r.json()["error"] for r in answers if r.status_code == 409} == {"version_conflict"}
    winner = next(r.json() for r in answers if r.status_code == 200)
    assert winner["version"] == 2
    [stored] = [
        a
        for a in (await api.client.get(base + "?include_scheduled=true", headers=admin)).json()
        if a["id"] == winner["id"]
    ]
    assert (stored["body"], stored["version"]) == (winner["body"], 2)
