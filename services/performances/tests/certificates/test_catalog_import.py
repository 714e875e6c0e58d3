"""Importing the whole 檢定證照 catalog: all or nothing, a no-op when repeated, absent items
deactivated (never deleted), Big5 CSV, and the template."""

from __future__ import annotations

import io
import uuid
from typing import Any

import openpyxl

from licheng.kit.audit import AuditEntry
from licheng.kit.outbox import OutboxMessage
from licheng.performances.models import Category, Certificate, Origin, Performance
from licheng.testing.workbooks import xlsx_bytes

HEADER = ["證照代碼", "證照名稱", "證照類別", "發照單位", "國內國外", "啟用"]
CATALOG = [
    ["A0001", "電腦軟體應用乙級", "技術士證", "勞動部勞動力發展署", "國內", "是"],
    ["B0002", "全民英檢中級", "語文檢定", "語言訓練測驗中心", "國內", None],
    ["T0003", "TOEIC 750", "語文檢定", "ETS", "國外", "是"],
]


def manager(school: Any) -> dict[str, str]:
    """Headers of the school's 證照項目管理者."""
    headers: dict[str, str] = school.as_role("certificate_manager")
    return headers


async def upload(school: Any, name: str, data: bytes) -> Any:
    """POST a catalog file as the manager."""
    return await school.api.client.post(
        f"{school.base}/certificates/imports", files={"file": (name, data)},
        headers=manager(school),
    )  # fmt: skip


async def catalog(school: Any) -> dict[str, dict[str, Any]]:
    """The whole catalog by code, as the API lists it."""
    listed = await school.api.client.get(
        f"{school.base}/certificates", params={"limit": 200}, headers=school.student()
    )
    assert listed.status_code == 200
    return {item["code"]: item for item in listed.json()["items"]}


async def test_one_bad_row_writes_nothing_and_names_row_and_column(school: Any) -> None:
    rows = [*CATALOG,
            ["a0001", "重複", None, None, "國內", "是"],
            ["C0004", None, None, None, "國內", "是"],
            ["D0005", "某檢定", None, None, "海外", "是"],
            ["E 0006", "某檢定", None, None, "國內", "可能"]]  # fmt: skip
    refused = await upload(school, "catalog.xlsx", xlsx_bytes(HEADER, rows, sheet_name="清單"))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "invalid_rows"
    problems = {(p["sheet"], p["row"], p["column"], p["code"]) for p in refused.json()["detail"]}
    assert problems == {
        ("清單", 5, "證照代碼", "duplicate_code"),
        ("清單", 6, "證照名稱", "required"),
        ("清單", 7, "國內國外", "domestic_invalid"),
        ("清單", 8, "證照代碼", "certificate_code_invalid"),
        ("清單", 8, "啟用", "active_invalid"),
    }
    assert all(p["message"] for p in refused.json()["detail"])
    assert await school.api.count(Certificate) == 0
    assert await school.api.count(AuditEntry) == 0
    missing = await upload(school, "c.xlsx", xlsx_bytes(["證照代碼", "證照名稱"], [["A1", "x"]]))
    assert missing.status_code == 422
    assert {(p["row"], p["code"]) for p in missing.json()["detail"]} == {(1, "missing_column")}
    empty = await upload(school, "c.xlsx", xlsx_bytes(HEADER, []))
    assert empty.status_code == 400
    assert empty.json()["error"] == "catalog_empty"
    old_excel = await upload(school, "c.xls", b"\xd0\xcf\x11\xe0 not really")
    assert old_excel.status_code == 400
    assert old_excel.json()["error"] == "file_unreadable"
    assert await school.api.count(Certificate) == 0


async def test_reimport_is_a_no_op_and_absent_items_are_deactivated(school: Any) -> None:
    api = school.api
    first = await upload(school, "catalog.xlsx", xlsx_bytes(HEADER, CATALOG))
    assert first.status_code == 200, first.text
    assert first.json() == {"created": 3, "updated": 0, "deactivated": 0, "unchanged": 0}
    items = await catalog(school)
    assert items["B0002"]["active"] is True  # 啟用 left blank
    assert items["T0003"]["domestic"] is False
    audit, events = await api.count(AuditEntry), await api.count(OutboxMessage)
    assert audit == 3
    assert events == 3

    again = await upload(school, "catalog.xlsx", xlsx_bytes(HEADER, CATALOG))
    assert again.json() == {"created": 0, "updated": 0, "deactivated": 0, "unchanged": 3}
    assert await api.count(AuditEntry) == audit
    assert await api.count(OutboxMessage) == events

    # A student's record names B0002; the next catalog leaves B0002 out.
    student_id = school.students["110001"]
    record_id = uuid.uuid4()
    async with api.app.state.session_factory() as session:
        session.add(
            Performance(
                id=record_id, school_code=api.school, student_id=student_id, academic_year=115,
                category=Category.CERTIFICATE, origin=Origin.SELF,
                fields={"certificate_code": "B0002", "obtained_on": "2026-03-01"},
                certificate_code="B0002", brief="通過全民英檢中級",
            )
        )  # fmt: skip
        await session.commit()
    changed = [
        ["A0001", "電腦軟體應用乙級", "技術士證", "勞動部勞動力發展署", "國內", "是"],
        ["T0003", "TOEIC 785", "語文檢定", "ETS", "國外", "是"],
        ["N0004", "日本語能力試驗 N2", "語文檢定", "日本國際交流基金會", "國外", "否"],
    ]
    replaced = await upload(school, "catalog.xlsx", xlsx_bytes(HEADER, changed))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {"created": 1, "updated": 1, "deactivated": 1, "unchanged": 1}
    items = await catalog(school)
    assert set(items) == {"A0001", "B0002", "N0004", "T0003"}
    assert items["B0002"]["active"] is False  # deactivated, still there
    assert items["N0004"]["active"] is False
    assert items["T0003"]["name"] == "TOEIC 785"
    assert await api.count(AuditEntry) == audit + 3
    assert await api.count(OutboxMessage) == events + 3
    record = await api.client.get(f"{school.base}/performances/{record_id}",
                                  headers=school.student("110001"))  # fmt: skip
    assert record.status_code == 200, record.text
    assert record.json()["fields"]["certificate_code"] == "B0002"
    assert await api.count(Performance) == 1

    back = await upload(school, "catalog.xlsx", xlsx_bytes(HEADER, CATALOG))
    assert back.json() == {"created": 0, "updated": 2, "deactivated": 0, "unchanged": 1}
    assert (await catalog(school))["B0002"]["active"] is True


async def test_a_big5_csv_catalog(school: Any) -> None:
    text = "證照代碼,證照名稱,國內國外,發照單位\r\n"
    text += "A0001,電腦軟體應用乙級,國內,勞動部勞動力發展署\r\nＢ0002,全民英檢中級,國內,\r\n"
    imported = await upload(school, "證照.csv", text.encode("cp950"))
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 2
    items = await catalog(school)
    assert items["A0001"]["issuer"] == "勞動部勞動力發展署"
    assert items["B0002"]["name"] == "全民英檢中級"
    assert items["B0002"]["issuer"] is None
    assert items["B0002"]["category"] is None


async def test_the_template_round_trips(school: Any) -> None:
    url = f"{school.base}/certificates/template"
    template = await school.api.client.get(url, headers=manager(school))
    assert template.status_code == 200
    assert template.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    assert book.sheetnames == ["檢定證照", "說明"]
    sheet = book["檢定證照"]
    assert [c.value for c in sheet[1]] == HEADER
    unchanged = await upload(school, "t.xlsx", template.content)
    assert unchanged.status_code == 400  # the header alone is an empty catalog
    for row in CATALOG:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    filled = await upload(school, "t.xlsx", out.getvalue())
    assert filled.status_code == 200, filled.text
    assert filled.json()["created"] == 3
    denied = await school.api.client.get(url, headers=school.student())
    assert denied.status_code == 403
