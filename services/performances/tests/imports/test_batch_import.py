"""The 多元項目管理者's batch import: the template round-trips, records land with the students as
imported, one bad row anywhere writes nothing, re-importing changes nothing."""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import openpyxl
from sqlmodel import select

from licheng.contracts.events import PersonUpserted
from licheng.kit.audit import AuditEntry
from licheng.kit.outbox import OutboxMessage
from licheng.kit.roster import KnownPerson
from licheng.performances.models import Performance, RosterLock
from licheng.testing.workbooks import zip_bomb_xlsx

COMPETITION = ["學年度", "學號", "競賽名稱", "項目", "競賽等級", "獎項", "結果公布日期", "團體參與",
               "內容簡述", "影音檔案外部連結"]  # fmt: skip
CERTIFICATE = ["學年度", "學號", "證照代碼", "級數分數", "分數", "分項結果", "取得證照日期",
               "證照字號", "檢定組別", "內容簡述", "影音檔案外部連結"]  # fmt: skip
SERVICE = ["學年度", "學號", "服務名稱", "服務單位", "開始日期", "結束日期", "時數", "內容簡述",
           "影音檔案外部連結"]  # fmt: skip


def manager(school: Any) -> dict[str, str]:
    """Headers of the school's 多元項目管理者."""
    headers: dict[str, str] = school.as_role("performance_item_manager")
    return headers


def workbook(sheets: Mapping[str, tuple[Sequence[str], Sequence[Sequence[object]]]]) -> bytes:
    """An xlsx with one sheet per entry: its header row, then its rows."""
    book = openpyxl.Workbook()
    default = book.active
    assert default is not None
    book.remove(default)
    for title, (header, rows) in sheets.items():
        sheet = book.create_sheet(title)
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(school: Any, data: bytes, name: str = "import.xlsx") -> Any:
    """POST a workbook as the manager."""
    return await school.api.client.post(
        f"{school.base}/imports", files={"file": (name, data)}, headers=manager(school)
    )


async def add_certificate(school: Any, code: str, name: str) -> None:
    """An active item of the catalog."""
    created = await school.api.client.post(
        f"{school.base}/certificates", json={"code": code, "name": name},
        headers=school.as_role("certificate_manager"),
    )  # fmt: skip
    assert created.status_code == 201, created.text


async def stored(school: Any) -> list[Performance]:
    """Every record of the school."""
    async with school.api.app.state.session_factory() as session:
        stmt = select(Performance).where(Performance.school_code == school.api.school)
        return list((await session.exec(stmt)).all())


async def test_the_template_round_trips_and_reimport_is_a_no_op(school: Any) -> None:
    api = school.api
    await add_certificate(school, "A0001", "電腦軟體應用乙級")
    template = await api.client.get(f"{school.base}/imports/template", headers=manager(school))
    assert template.status_code == 200, template.text
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    assert book.sheetnames[0] == "說明"
    assert "競賽參與" in book.sheetnames
    assert "大學及技專校院先修課程" in book.sheetnames
    assert len(book.sheetnames) == 11
    assert [c.value for c in book["競賽參與"][1]] == COMPETITION
    assert [c.value for c in book["檢定證照"][1]] == CERTIFICATE
    notes = [str(c.value) for row in book["說明"].iter_rows() for c in row if c.value]
    assert any("1 校級" in n and "4 國際" in n for n in notes)
    assert "A0001" in notes
    assert "電腦軟體應用乙級" in notes

    untouched = await upload(school, template.content)
    assert untouched.status_code == 200, untouched.text
    assert untouched.json() == {"created": 0, "unchanged": 0, "by_category": {}}

    competition, certificate_sheet = book["競賽參與"], book["檢定證照"]
    competition.append(
        [
            115,
            "110001",
            "全國高級中等學校科學展覽會",
            "物理",
            3,
            "佳作",
            "115/03/01",
            2,
            "與同學合作研究擺的週期",
            "https://youtu.be/abc",
        ]
    )
    competition.append(
        [
            115,
            "110002",
            "校內英語演講比賽",
            None,
            "1",
            "第一名",
            date(2026, 10, 5),
            "1",
            "代表班級參加英語演講",
            None,
        ]
    )
    certificate_sheet.append([115, "110003", "a0001", "乙級", None, None, "115/06/30", "No.123",
                              None, "通過電腦軟體應用乙級", None])  # fmt: skip
    filled = io.BytesIO()
    book.save(filled)
    data = filled.getvalue()

    first = await upload(school, data)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "created": 3,
        "unchanged": 0,
        "by_category": {"competition": {"created": 2, "unchanged": 0},
                        "certificate": {"created": 1, "unchanged": 0}},
    }  # fmt: skip
    records = {r.student_id: r for r in await stored(school)}
    science = records[school.students["110001"]]
    assert science.origin == "imported"
    assert science.academic_year == 115
    assert science.fields == {"name": "全國高級中等學校科學展覽會", "item": "物理",
                              "level": "3", "award": "佳作", "announced_on": "2026-03-01",
                              "team": "2"}  # fmt: skip
    assert science.video_url == "https://youtu.be/abc"
    assert science.selected is False
    assert science.import_key
    assert len(science.import_key) == 64
    assert records[school.students["110002"]].fields["announced_on"] == "2026-10-05"
    certificate = records[school.students["110003"]]
    assert certificate.certificate_code == "A0001"
    assert certificate.fields["certificate_code"] == "A0001"

    mine = await api.client.get(f"{school.base}/me/performances", headers=school.student("110001"))
    assert mine.status_code == 200, mine.text
    assert [(i["origin"], i["category"]) for i in mine.json()["items"]] == [
        ("imported", "competition")
    ]

    async with api.app.state.session_factory() as session:
        audit = (
            await session.exec(select(AuditEntry).where(AuditEntry.entity == "performance"))
        ).all()
    assert len(audit) == 3
    assert {a.action for a in audit} == {"performance.created"}
    assert {a.actor_id for a in audit} == {school.staff["performance_item_manager"]}
    events, audit_rows = await api.count(OutboxMessage), await api.count(AuditEntry)

    again = await upload(school, data)
    assert again.status_code == 200, again.text
    assert again.json()["created"] == 0
    assert again.json()["unchanged"] == 3
    assert again.json()["by_category"]["competition"] == {"created": 0, "unchanged": 2}
    assert len(await stored(school)) == 3
    assert await api.count(OutboxMessage) == events
    assert await api.count(AuditEntry) == audit_rows


async def test_one_bad_row_anywhere_writes_nothing(school: Any) -> None:
    await add_certificate(school, "A0001", "電腦軟體應用乙級")
    off = await school.api.client.patch(
        f"{school.base}/certificates/A0001", json={"active": False},
        headers=school.as_role("certificate_manager"),
    )  # fmt: skip
    assert off.status_code == 200
    good = [115, "110001", "校內英語演講比賽", None, 1, "第一名", "2026-10-05", 1, "代表班級", None]
    data = workbook({
        "說明": (["隨便寫"], [["不會被讀取"]]),
        "競賽參與": (COMPETITION, [
            good,
            [115, "110002", "科展", None, 9, None, "2026-13-01", 1, "x" * 101, "ftp://x"],
            [99, "999999", "科展", None, 1, None, "2026-10-01", 1, "學號不存在", None],
            good,
        ]),
        "服務學習紀錄": (SERVICE, [
            [115, "110003", "淨灘", "環保署", "2026-05-02", "2026-05-01", 1.25, "淨灘", None],
        ]),
        "檢定證照": (CERTIFICATE, [
            [115, "110001", "A0001", None, None, None, "2026-06-30", None, None, "停用",
             None],
        ]),
        "其他活動": (["學年度", "學號", "名稱", "開始日期", "內容簡述", "備註"], [
            [115, "110001", "社區活動", "2026-01-01", "參加社區活動", "x"],
        ]),
        "工作表9": (["A"], [["x"]]),
        "空白": ([], []),
    })  # fmt: skip
    refused = await upload(school, data)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "invalid_rows"
    problems = [(p["sheet"], p["row"], p["column"], p["code"]) for p in refused.json()["detail"]]
    assert problems == [
        ("競賽參與", 3, "內容簡述", "too_long"),
        ("競賽參與", 3, "影音檔案外部連結", "invalid_url"),
        ("競賽參與", 3, "競賽等級", "invalid_code"),
        ("競賽參與", 3, "結果公布日期", "invalid_date"),
        ("競賽參與", 4, "學年度", "invalid_year"),
        ("競賽參與", 4, "學號", "unknown_student"),
        ("競賽參與", 5, "學號", "duplicate_row"),
        ("服務學習紀錄", 2, "時數", "invalid_number"),
        ("服務學習紀錄", 2, "結束日期", "range_invalid"),
        ("檢定證照", 2, "證照代碼", "unknown_certificate"),
        ("其他活動", 1, "備註", "unknown_column"),
        ("工作表9", 1, "", "unknown_sheet"),
    ]
    level = next(p for p in refused.json()["detail"] if p["code"] == "invalid_code")
    assert "競賽等級" in level["message"]
    assert "1 校級" in level["message"]
    assert await school.api.count(Performance) == 0
    assert await school.api.count(OutboxMessage) == 2  # the two catalog changes only

    csv = await upload(school, "學年度,學號\n115,110001\n".encode(), name="import.csv")
    assert csv.status_code == 400
    assert csv.json()["error"] == "file_unreadable"
    for headers in (school.student(), school.as_role("performance_submitter"),
                    school.as_role("certificate_manager")):  # fmt: skip
        denied = await school.api.client.post(
            f"{school.base}/imports", files={"file": ("i.xlsx", data)}, headers=headers
        )
        assert denied.status_code == 403
        template = await school.api.client.get(f"{school.base}/imports/template",
                                               headers=headers)  # fmt: skip
        assert template.status_code == 403


async def test_another_schools_student_is_never_matched(school: Any) -> None:
    api = school.api
    other = PersonUpserted(person_id=uuid.uuid4(), kind="student", local_no="220001",
                           name="外校同學", username="s220001", class_code="101", seat_no=3,
                           status="在籍")  # fmt: skip
    envelope = other.envelope(school_code="999999", actor_id=None)
    await api.nats.jetstream().publish(envelope.subject, envelope.model_dump_json().encode())

    async def arrived() -> bool:
        return await api.count(KnownPerson) == 5

    await api.eventually(arrived, "the other school's student")
    row = [115, "220001", "科展", None, 1, None, "2026-10-01", 1, "外校學生", None]
    refused = await upload(school, workbook({"競賽參與": (COMPETITION, [row])}))
    assert refused.status_code == 422
    assert [(p["row"], p["column"], p["code"]) for p in refused.json()["detail"]] == [
        (2, "學號", "unknown_student")
    ]
    assert await api.count(Performance) == 0


async def test_a_submitted_year_is_refused_row_by_row(school: Any) -> None:
    api = school.api
    async with api.app.state.session_factory() as session:
        session.add(RosterLock(school_code=api.school, roster_code="25", academic_year=114,
                               semester=0, submission_id=uuid.uuid4()))  # fmt: skip
        await session.commit()
    rows = [
        [115, "110001", "科展", None, 1, None, "2026-10-01", 1, "今年的紀錄", None],
        [114, "110001", "科展", None, 1, None, "2025-10-01", 1, "已提交學年度的紀錄", None],
    ]
    refused = await upload(school, workbook({"競賽參與": (COMPETITION, rows)}))
    assert refused.status_code == 422
    detail = refused.json()["detail"]
    assert [(p["row"], p["column"], p["code"]) for p in detail] == [(3, "學年度", "roster_locked")]
    assert "114 學年度" in detail[0]["message"]
    assert await api.count(Performance) == 0
    accepted = await upload(school, workbook({"競賽參與": (COMPETITION, rows[:1])}))
    assert accepted.status_code == 200
    assert accepted.json()["created"] == 1


async def test_a_zip_bomb_is_refused_before_it_is_opened(school: Any) -> None:
    row = [115, "110001", "科展", None, 1, None, "2026-10-01", 1, "紀錄", None]
    bomb = zip_bomb_xlsx(COMPETITION, [row], inflated_mib=40, member="xl/sharedStrings.xml")
    refused = await upload(school, bomb)
    assert refused.status_code in (400, 413)
    assert refused.json()["error"] in ("workbook_suspicious", "workbook_too_large")
    assert await school.api.count(Performance) == 0
