"""Imports that try to hurt: a zip bomb, letter-case twins of a 學號, a forced database error."""

from __future__ import annotations

import json
import resource
from typing import Any

import pytest
import sqlalchemy as sa

from licheng.identity.models import Person
from licheng.testing.workbooks import zip_bomb_xlsx


async def _people(api: Any) -> int:
    async with api.app.state.engine.connect() as connection:
        count = (
            sa.select(sa.func.count()).select_from(Person).where(Person.school_code == api.school)
        )
        return int((await connection.execute(count)).scalar_one())


async def _class_101(api: Any, files: Any) -> None:
    classes = files.csv(["班級代碼", "年級", "班級名稱", "導師"], [["101", 1, "普一甲", ""]])
    assert (await api.upload("classes", "c.csv", classes, api.as_admin())).status_code == 200


async def test_a_zip_bomb_upload_is_refused_without_inflating_it(api: Any, files: Any) -> None:
    await _class_101(api, files)
    people_before = await _people(api)
    rows = files.student_rows(1, ["101"])
    bomb = zip_bomb_xlsx(
        files.STUDENT_HEADER, rows, inflated_mib=400, member="xl/sharedStrings.xml"
    )
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    refused = await api.upload("students", "students.xlsx", bomb, api.as_admin())
    assert refused.status_code == 413, refused.text
    body = refused.json()
    assert body["error"] == "workbook_too_large"
    assert "解壓縮後過大" in body["message"]
    # 400 MiB of shared strings were never decompressed into this process.
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before_kib) / 1024
    assert grown_mib < 100
    assert await _people(api) == people_before
    assert (await api.client.get("/healthz")).status_code == 200


async def test_a_student_number_differing_only_in_case_is_the_same_student(
    api: Any, files: Any
) -> None:
    await _class_101(api, files)
    rows = files.student_rows(1, ["101"])
    rows[0][0] = "9B0001"
    first = await api.upload(
        "students", "s.csv", files.csv(files.STUDENT_HEADER, rows), api.as_admin()
    )
    assert first.status_code == 200, first.text
    again = [list(rows[0])]
    again[0][0] = "９b0001"  # lower case, and a full-width digit
    second = await api.upload(
        "students", "s.csv", files.csv(files.STUDENT_HEADER, again), api.as_admin()
    )
    assert second.status_code == 200, second.text
    assert second.json()["unchanged"] == 1
    students = (
        await api.client.get(
            f"/api/identity/v1/schools/{api.school}/students", headers=api.as_admin()
        )
    ).json()["items"]
    assert [s["local_no"] for s in students] == ["9B0001"]

    twins = [list(rows[0]), list(rows[0])]
    twins[1][0] = "9b0001"
    refused = await api.upload(
        "students", "s.csv", files.csv(files.STUDENT_HEADER, twins), api.as_admin()
    )
    assert refused.status_code == 422
    assert {e["code"] for e in refused.json()["detail"]} == {"duplicate_student_no"}


async def test_a_database_error_is_a_conflict_and_never_logs_the_values(
    api: Any, files: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    await _class_101(api, files)
    # Force a constraint error underneath the import: someone else already holds the sign-in
    # name the next student will get (PostgreSQL's message would name it: DETAIL: Key …).
    number, name = "110777", "王大明"
    async with api.app.state.session_factory() as session:
        session.add(
            Person(
                school_code=api.school,
                kind="staff",
                local_no="X999",
                name="佔用者",
                username=f"{api.school}-s-{number}",
            )
        )
        await session.commit()
    people_before = await _people(api)
    rows = files.student_rows(1, ["101"])
    rows[0][0], rows[0][1] = number, name
    capsys.readouterr()
    response = await api.upload(
        "students", "s.csv", files.csv(files.STUDENT_HEADER, rows), api.as_admin()
    )
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "conflict"
    logged = capsys.readouterr().out
    conflicts = [json.loads(line) for line in logged.splitlines() if "request.conflict" in line]
    assert [c["exc_type"] for c in conflicts] == ["IntegrityError"]
    assert "username" in str(conflicts[0]["constraint"])
    for secret in (number, name, rows[0][4]):
        assert secret not in logged
    assert await _people(api) == people_before  # the import wrote nothing


async def test_a_service_called_directly_still_refuses_an_oversized_body(api: Any) -> None:
    url = f"/api/identity/v1/schools/{api.school}/imports/students"
    limit = api.app.state.settings.max_body_bytes
    declared = await api.client.post(
        url,
        content=b"x" * (limit + 1),
        headers={**api.as_admin(), "content-type": "application/octet-stream"},
    )
    assert declared.status_code == 413
    assert declared.json()["error"] == "payload_too_large"

    async def endless() -> Any:  # no Content-Length: counted as it streams
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="s.csv"\r\n\r\n'
        chunk = b"y" * (1024 * 1024)
        for _ in range(limit // len(chunk) + 2):
            yield chunk

    streamed = await api.client.post(
        url,
        content=endless(),
        headers={**api.as_admin(), "content-type": "multipart/form-data; boundary=b"},
    )
    assert streamed.status_code == 413
