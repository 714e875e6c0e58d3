"""Imports over HTTP: a re-import changes nothing, Big5 CSV is read, one bad row writes nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from licheng.kit.audit import AuditEntry
from licheng.kit.outbox import OutboxMessage


async def test_imports_create_then_reimport_is_a_no_op(
    api: Any, files: Any, seed: Any, count_rows: Any
) -> None:
    seeded = await seed(students=2000)
    outbox_before = await count_rows(OutboxMessage)
    audit_before = await count_rows(AuditEntry)
    again = await api.upload(
        "students",
        "students.xlsx",
        files.xlsx(files.STUDENT_HEADER, seeded.rows),
        api.as_admin(),
    )
    assert again.json() == {
        "kind": "students",
        "total": 2000,
        "created": 0,
        "updated": 0,
        "unchanged": 2000,
    }
    assert await count_rows(OutboxMessage) == outbox_before
    assert await count_rows(AuditEntry) == audit_before
    changed = [list(r) for r in seeded.rows]
    changed[0][3] = 99  # a new 座號
    result = await api.upload(
        "students", "s.xlsx", files.xlsx(files.STUDENT_HEADER, changed), api.as_admin()
    )
    assert result.json()["updated"] == 1


async def test_big5_csv_students_import(api: Any, files: Any, seed: Any) -> None:
    seeded = await seed(students=0)
    rows = files.student_rows(5, seeded.classes, seed=99)
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


async def test_one_bad_checksum_writes_nothing_and_names_the_row(
    api: Any, files: Any, seed: Any, count_rows: Any
) -> None:
    seeded = await seed(students=0)
    rows = files.student_rows(20, seeded.classes, seed=5)
    good = rows[7][4]
    rows[7][4] = good[:-1] + str((int(good[-1]) + 1) % 10)
    people_before = await count_rows(sa.table("person"))
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
    assert await count_rows(sa.table("person")) == people_before
