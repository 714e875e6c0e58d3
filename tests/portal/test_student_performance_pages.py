"""The student's 多元表現 page through the whole stack: a 志工服務 record added with the category's
own form (a bad date refused beside its field), proof uploaded, ticked; the 11th 勾選 refused with
the API's message; school-registered 校內幹部 shown read-only; another student's record is the 404
page; once 名冊 25 is locked the edit is refused on the page with the API's lock message."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(5_000)
YEAR = 115
SERVICE = {
    "field_name": "社區淨灘",
    "field_organisation": "海洋保育協會",
    "field_start_date": "2026-09-05",
    "field_end_date": "2026-09-05",
    "field_hours": "4",
}


async def _school(campus: Any) -> Any:
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳導師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110002,吳同學,101,2,F131104093,0970812,在籍\n"
        ),
    )
    now = datetime.now(UTC)
    opened = await campus.gateway.patch(
        f"{campus.performances}/parameters/{YEAR}",
        json={
            f"{window}_{edge}": (now + timedelta(days=-1 if edge == "from" else 9)).isoformat()
            for window in ("fill", "select")
            for edge in ("from", "until")
        },
        headers={
            **campus.as_(school.staff["T002"], "performance_submitter"),
            "content-type": "application/merge-patch+json",
        },
    )
    assert opened.status_code == 200, opened.text
    return school


async def _records(campus: Any, student: dict[str, str]) -> list[Any]:
    listed = await campus.gateway.get(
        f"{campus.performances}/me/performances",
        params={"academic_year": YEAR},
        headers=student,
    )
    assert listed.status_code == 200, listed.text
    return list(listed.json()["items"])


def _created_id(response: httpx.Response) -> str:
    assert response.status_code == 303, response.text
    found = re.fullmatch(
        r"/student/performances/([0-9a-f-]{36})\?done=created", response.headers["location"]
    )
    assert found is not None, response.headers["location"]
    return found[1]


async def test_a_student_adds_a_volunteer_record_with_proof_and_selects_it(campus: Any) -> None:
    school = await _school(campus)
    student_id = school.students["110001"]
    student = campus.as_(student_id, "student")

    async with campus.portal(student_id, "student") as page:
        empty = await page.get("/student/performances")
        assert empty.status_code == 200, empty.text
        assert "115 學年度" in empty.text
        assert "本學年度尚無多元表現紀錄" in empty.text
        assert 'id="new-category"' in empty.text
        assert 'id="new-form"' not in empty.text  # the category comes first

        form = (await page.get("/student/performances?category=service")).text
        for label in ("服務名稱", "服務單位", "開始日期", "結束日期", "時數", "內容簡述"):
            assert re.search(rf"<label for=\"new-[a-z_]+\">{label}", form), label
        assert re.search(r'id="new-start_date" name="field_start_date" type="date"', form)
        assert re.search(r'id="new-hours" name="field_hours" type="number"', form)
        assert '<label for="new-end_date">結束日期</label>' in form  # optional: no mark
        assert '<label for="new-start_date">開始日期<span class="required"' in form

        bad = await page.post(
            "/student/performances/new",
            data={"category": "service", "academic_year": str(YEAR), "brief": "淨灘",
                  **SERVICE, "field_start_date": "2026-13-45"},
        )  # fmt: skip
        assert bad.status_code == 422, bad.text
        assert 'id="new-msg"' in bad.text
        error = re.search(
            r'<span class="field-error" id="new-start_date-error">([^<]+)</span>', bad.text
        )
        assert error is not None
        assert "開始日期不是有效的日期" in error[1]
        assert 'aria-describedby="new-start_date-error" aria-invalid="true"' in bad.text
        assert 'value="海洋保育協會"' in bad.text  # what was typed is kept
        assert await _records(campus, student) == []

        backwards = await page.post(
            "/student/performances/new",
            data={"category": "service", "academic_year": str(YEAR), "brief": "淨灘",
                  **SERVICE, "field_end_date": "2026-09-01"},
        )  # fmt: skip
        assert backwards.status_code == 422, backwards.text
        assert 'id="new-end_date-error"' in backwards.text
        assert await _records(campus, student) == []

        record_id = _created_id(
            await page.post(
                "/student/performances/new",
                data={
                    "category": "service",
                    "academic_year": str(YEAR),
                    "brief": "社區淨灘志工",
                    "video_url": "https://youtu.be/abc",
                    **SERVICE,
                },
            )
        )
        detail = await page.get(f"/student/performances/{record_id}?done=created")
        assert detail.status_code == 200, detail.text
        assert "已新增多元表現" in detail.text
        assert "海洋保育協會" in detail.text
        assert "115/09/05" in detail.text  # 民國 date
        assert 'id="upload-form"' in detail.text
        assert "<progress" in detail.text
        assert "data-upload" in detail.text

        uploaded = await page.post(
            f"/student/performances/{record_id}/files",
            files={"file": ("服務證明.pdf", PDF, "application/pdf")},
        )
        assert uploaded.status_code == 303, uploaded.text
        assert "服務證明.pdf" in (await page.get(f"/student/performances/{record_id}")).text
        fake = await page.post(
            f"/student/performances/{record_id}/files",
            files={"file": ("假的.pdf", b"not a pdf", "application/pdf")},
        )
        assert fake.status_code == 415, fake.text
        assert 'id="upload-msg"' in fake.text

        listed = (await page.get("/student/performances")).text
        assert f'id="pick-{record_id}"' in listed
        assert "志工服務（1 筆）" in listed
        assert "已勾選 0 筆 / 最多 10 筆" in listed

        ticked = await page.post(
            "/student/performances/selections",
            data={"academic_year": str(YEAR), "performance_ids": [record_id]},
        )
        assert ticked.status_code == 303, ticked.text
        chosen = await campus.gateway.get(
            f"{campus.performances}/me/selections",
            params={"academic_year": YEAR},
            headers=student,
        )
        assert chosen.status_code == 200, chosen.text
        assert chosen.json()["selected"] == 1
        [item] = chosen.json()["items"]
        assert item["id"] == record_id
        assert item["category"] == "service"
        assert [f["filename"] for f in item["files"]] == ["服務證明.pdf"]
        after = (await page.get("/student/performances")).text
        assert re.search(
            rf'id="pick-{record_id}" name="performance_ids" value="{record_id}" checked', after
        )
        assert "已勾選 1 筆 / 最多 10 筆" in after

        # An edit with a refused field shows it beside the field and changes nothing.
        [stored] = await _records(campus, student)
        refused = await page.post(
            f"/student/performances/{record_id}/edit",
            data={"version": str(stored["version"]), "brief": "改寫", **SERVICE,
                  "field_hours": "-3"},
        )  # fmt: skip
        assert refused.status_code == 422, refused.text
        assert 'id="edit-hours-error"' in refused.text
        assert (await _records(campus, student))[0]["brief"] == "社區淨灘志工"
        edited = await page.post(
            f"/student/performances/{record_id}/edit",
            data={"version": str(stored["version"]), "brief": "社區淨灘志工與分類", **SERVICE},
        )
        assert edited.status_code == 303, edited.text
        assert (await _records(campus, student))[0]["brief"] == "社區淨灘志工與分類"

        spare = await campus.gateway.post(
            f"{campus.performances}/performances",
            json={"academic_year": YEAR, "category": "work", "brief": "備用",
                  "fields": {"name": "草稿", "made_on": "2026-10-01"}},
            headers=student,
        )  # fmt: skip
        assert spare.status_code == 201, spare.text
        deleted = await page.post(f"/student/performances/{spare.json()['id']}/delete")
        assert deleted.status_code == 303, deleted.text
        assert [r["id"] for r in await _records(campus, student)] == [record_id]

    # Another student (and staff) cannot open the record on the page.
    async with campus.portal(school.students["110002"], "student") as other:
        hidden = await other.get(f"/student/performances/{record_id}")
        assert hidden.status_code == 404, hidden.text
        assert "海洋保育協會" not in hidden.text
        assert "找不到" in hidden.text
    async with campus.portal(school.staff["T002"], "performance_submitter") as staff:
        assert (await staff.get("/student/performances")).status_code == 403


async def test_the_eleventh_selection_is_refused_and_cadres_are_read_only(campus: Any) -> None:
    school = await _school(campus)
    student_id = school.students["110001"]
    student = campus.as_(student_id, "student")
    gw, base = campus.gateway, campus.performances
    cadre_submitter = campus.as_(school.staff["T002"], "cadre_submitter")
    cadres_csv = (
        "學年,學期,學號,單位名稱,開始日期,結束日期,擔任職務,幹部等級\n"
        "115,1,110001,熱舞社,1150901,1160131,社長,3\n"
    ).encode()

    async def import_cadres() -> httpx.Response:
        return await gw.post(
            f"{base}/cadres/imports",
            files={"file": ("幹部.csv", cadres_csv)},
            headers=cadre_submitter,
        )

    await campus.eventually_ok(import_cadres, "cadres once performances knows the students")
    ids = []
    for n in range(11):
        created = await gw.post(
            f"{base}/performances",
            json={"academic_year": YEAR, "category": "work", "brief": f"作品 {n}",
                  "fields": {"name": f"作品{n}", "made_on": "2026-10-01"}},
            headers=student,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    api_refusal = await gw.put(
        f"{base}/me/selections",
        json={"academic_year": YEAR, "performance_ids": ids},
        headers=student,
    )
    assert api_refusal.status_code >= 400

    async with campus.portal(student_id, "student") as page:
        listed = (await page.get("/student/performances")).text
        assert "作品成果（11 筆）" in listed
        cadre_table = listed[
            listed.index('id="cadre-table"') : listed.index(
                "</table>", listed.index('id="cadre-table"')
            )
        ]
        assert "熱舞社" in cadre_table
        assert "社長" in cadre_table
        assert "社團幹部" in cadre_table
        assert "115/09/01" in cadre_table
        assert "<input" not in cadre_table
        assert "<form" not in cadre_table
        assert "href" not in cadre_table
        cadres = (await gw.get(f"{base}/me/cadres", headers=student)).json()["items"]
        assert f"pick-{cadres[0]['id']}" not in listed
        assert f"/student/performances/{cadres[0]['id']}" not in listed

        refused = await page.post(
            "/student/performances/selections",
            data={"academic_year": str(YEAR), "performance_ids": ids},
        )
        assert refused.status_code == api_refusal.status_code, refused.text
        message = re.search(
            r'<p class="error" role="alert" id="select-msg">([^<]+)</p>', refused.text
        )
        assert message is not None
        assert message[1] == api_refusal.json()["message"]
        assert "您選了 11 項" in message[1]
        assert "已勾選 11 筆 / 最多 10 筆" in refused.text  # the ticks are kept to fix
        chosen = await gw.get(
            f"{base}/me/selections", params={"academic_year": YEAR}, headers=student
        )
        assert chosen.json()["selected"] == 0

        ten = await page.post(
            "/student/performances/selections",
            data={"academic_year": str(YEAR), "performance_ids": ids[:10]},
        )
        assert ten.status_code == 303, ten.text
        chosen = await gw.get(
            f"{base}/me/selections", params={"academic_year": YEAR}, headers=student
        )
        assert sorted(i["id"] for i in chosen.json()["items"]) == sorted(ids[:10])


async def test_a_locked_roster_refuses_the_edit_with_the_lock_message(campus: Any) -> None:
    school = await _school(campus)
    student_id = school.students["110001"]
    student = campus.as_(student_id, "student")
    gw, base = campus.gateway, campus.performances
    submitter = campus.as_(school.staff["T002"], "performance_submitter")

    async with campus.portal(student_id, "student") as page:
        record_id = _created_id(
            await page.post(
                "/student/performances/new",
                data={
                    "category": "service",
                    "academic_year": str(YEAR),
                    "brief": "淨灘",
                    **SERVICE,
                },
            )
        )
        started = await gw.post(
            f"{campus.exports}/submissions",
            headers=submitter,
            json={"roster_code": "25", "academic_year": YEAR},
        )
        assert started.status_code == 202, started.text

        deadline = time.monotonic() + 30
        while True:  # the lock arrives through the submission saga's events
            probe = await gw.patch(
                f"{base}/performances/{record_id}", json={"brief": "淨灘"}, headers=student
            )
            if probe.status_code == 423:
                break
            assert probe.status_code == 200, probe.text
            assert time.monotonic() < deadline, "名冊 25 was never locked"
            await asyncio.sleep(0.3)
        lock_message = probe.json()["message"]

        detail = (await page.get(f"/student/performances/{record_id}")).text
        version = re.search(r'name="version" value="(\d+)"', detail)
        assert version is not None
        refused = await page.post(
            f"/student/performances/{record_id}/edit",
            data={"version": version[1], "brief": "鎖定後的修改", **SERVICE},
        )
        assert refused.status_code == 423, refused.text
        shown = re.search(r'<p class="error" role="alert" id="edit-msg">([^<]+)</p>', refused.text)
        assert shown is not None
        assert shown[1] == lock_message
        assert "已儲存修改" not in refused.text
        gone = await page.post(f"/student/performances/{record_id}/delete")
        assert gone.status_code == 423, gone.text
        assert f'id="delete-msg">{lock_message}</p>' in gone.text
        [stored] = await _records(campus, student)
        assert stored["brief"] == "淨灘"
