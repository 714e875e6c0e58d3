"""Issue "Performances service" — done when, through the gateway: the certificate manager loads a
catalog; the item manager batch-imports competition records; the cadre submitter imports cadres
from a Big5 CSV; a student adds a 志工服務 record with a proof PDF, attaches proof to an imported
record and selects 10; the performance submitter and the homeroom teacher see the counts and
download them as xlsx."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import httpx
from openpyxl import Workbook, load_workbook

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(5_000)
YEAR = 115


def _xlsx(book: Workbook) -> bytes:
    out = BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_year_of_performances_through_the_gateway(campus: Any) -> None:
    gw, base = campus.gateway, campus.performances
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳導師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n102,1,普一乙,\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110002,吳同學,101,2,F131104093,0970812,在籍\n"
            "110003,張同學,102,1,B120000008,0970101,在籍\n"
        ),
    )
    clerk = school.staff["T002"]
    certificate_manager = campus.as_(clerk, "certificate_manager")
    item_manager = campus.as_(clerk, "performance_item_manager")
    cadre_submitter = campus.as_(clerk, "cadre_submitter")
    submitter = campus.as_(clerk, "performance_submitter")
    homeroom = campus.as_(school.staff["T001"], "homeroom_teacher")
    student = campus.as_(school.students["110001"], "student")

    catalog = Workbook()
    sheet = catalog.active
    assert sheet is not None
    sheet.append(["證照代碼", "證照名稱", "證照類別", "發照單位", "國內國外"])
    sheet.append(["A0001", "電腦軟體應用丙級", "技術士", "勞動部", "國內"])
    sheet.append(["B0002", "全民英檢中級", "語文", "語言訓練測驗中心", "國內"])
    loaded = await gw.post(
        f"{base}/certificates/imports",
        files={"file": ("證照.xlsx", _xlsx(catalog))},
        headers=certificate_manager,
    )
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["created"] == 2

    template = await gw.get(f"{base}/imports/template", headers=item_manager)
    assert template.status_code == 200, template.text
    book = load_workbook(BytesIO(template.content))
    competitions = book["競賽參與"]
    header = [c.value for c in competitions[1]]
    rows = (
        {"學號": "110001", "競賽名稱": "全國科展", "競賽等級": "3", "結果公布日期": "115/03/01"},
        {
            "學號": "110002",
            "競賽名稱": "校內英語演講",
            "競賽等級": "1",
            "結果公布日期": "2026-04-01",
        },
    )
    for row in rows:
        values = {"學年度": YEAR, "團體參與": "1", "內容簡述": "比賽心得", **row}
        competitions.append([values.get(str(h)) for h in header])

    async def batch_import() -> httpx.Response:
        return await gw.post(
            f"{base}/imports", files={"file": ("多元.xlsx", _xlsx(book))}, headers=item_manager
        )

    imported = await campus.eventually_ok(batch_import, "the batch import once people arrived")
    assert imported.json()["created"] == 2

    cadres_csv = (
        "學年,學期,學號,單位名稱,開始日期,結束日期,擔任職務,幹部等級\n"
        "115,1,110001,熱舞社,1150901,1160131,社長,3\n"
        "115,1,110002,普一甲,1150901,1160131,班長,2\n"
    ).encode("cp950")
    cadres = await gw.post(
        f"{base}/cadres/imports", files={"file": ("幹部.csv", cadres_csv)}, headers=cadre_submitter
    )
    assert cadres.status_code == 200, cadres.text
    assert cadres.json()["created"] == 2

    now = datetime.now(UTC)
    opened = await gw.patch(
        f"{base}/parameters/{YEAR}",
        json={"fill_from": (now - timedelta(days=1)).isoformat(),
              "fill_until": (now + timedelta(days=9)).isoformat(),
              "select_from": (now - timedelta(days=1)).isoformat(),
              "select_until": (now + timedelta(days=9)).isoformat()},
        headers={**submitter, "content-type": "application/merge-patch+json"},
    )  # fmt: skip
    assert opened.status_code == 200, opened.text

    service = await gw.post(
        f"{base}/performances",
        json={"academic_year": YEAR, "category": "service", "brief": "社區淨灘志工",
              "fields": {"name": "淨灘", "organisation": "海洋保育協會",
                         "start_date": "115/09/05", "end_date": "115/09/05", "hours": "4"}},
        headers=student,
    )  # fmt: skip
    assert service.status_code == 201, service.text
    assert service.json()["fields"]["start_date"] == "2026-09-05"
    proof = await gw.post(
        f"{base}/performances/{service.json()['id']}/files",
        files={"file": ("服務證明.pdf", PDF)},
        headers=student,
    )
    assert proof.status_code == 201, proof.text

    mine = await gw.get(f"{base}/me/performances", params={"academic_year": YEAR}, headers=student)
    [competition] = [r for r in mine.json()["items"] if r["origin"] == "imported"]
    attached = await gw.post(
        f"{base}/performances/{competition['id']}/files",
        files={"file": ("獎狀.pdf", PDF)},
        headers=student,
    )
    assert attached.status_code == 201, attached.text
    ids = [service.json()["id"], competition["id"]]
    for n in range(8):
        work = await gw.post(
            f"{base}/performances",
            json={"academic_year": YEAR, "category": "work", "brief": f"作品 {n + 1}",
                  "fields": {"name": f"作品 {n + 1}", "made_on": "2026-10-01"}},
            headers=student,
        )  # fmt: skip
        assert work.status_code == 201, work.text
        ids.append(work.json()["id"])
    chosen = await gw.put(
        f"{base}/me/selections",
        json={"academic_year": YEAR, "performance_ids": ids},
        headers=student,
    )
    assert chosen.status_code == 200, chosen.text
    assert (chosen.json()["selected"], chosen.json()["limit"]) == (10, 10)

    year = {"academic_year": YEAR}
    for viewer in (submitter, homeroom):
        listed = await gw.get(f"{base}/status/students", params=year, headers=viewer)
        assert listed.status_code == 200, listed.text
        counts = {s["local_no"]: s for s in listed.json()["items"]}
        assert (counts["110001"]["filled"], counts["110001"]["selected"]) == (10, 10)
        assert counts["110001"]["cadres"] == 1
        assert counts["110002"]["filled"] == 1
        download = await gw.get(f"{base}/status/students.xlsx", params=year, headers=viewer)
        assert download.status_code == 200, download.text
        sheet_rows = list(
            load_workbook(BytesIO(download.content)).active.iter_rows(values_only=True)
        )  # type: ignore[union-attr]
        names = {r[sheet_rows[0].index("姓名")] for r in sheet_rows[1:] if r and r[0]}
        assert {"林同學", "吳同學"} <= names
        assert ("張同學" in names) is (viewer is submitter)
