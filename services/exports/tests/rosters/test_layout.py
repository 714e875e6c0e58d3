"""Roster layouts: the sheets and columns of each 名冊 and the rows records become."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from licheng.contracts.rosters import RosterCode
from licheng.exports.models import CadreRow, OutcomeRow, PerformanceRow
from licheng.exports.rosters.layout import (
    CATEGORY_SHEETS,
    CertificateInfo,
    Identifiers,
    attachment_name,
    attachment_names,
    cadre_row,
    cover_row,
    cover_semester,
    outcome_row,
    performance_row,
    roster_sheets,
)
from licheng.performances.categories import BRIEF_LABEL, CATEGORIES, VIDEO_LABEL, FieldKind

WHO = Identifiers("A123456789", date(2009, 3, 4))
RECORD_ID = uuid.UUID("00000000-0000-0000-0000-00000000abcd")


def _performance(
    category: str, fields: dict[str, Any], *, video_url: str | None = None
) -> PerformanceRow:
    return PerformanceRow(
        performance_id=RECORD_ID, school_code="011302", student_id=uuid.uuid4(),
        academic_year=115, category=category, origin="self", fields=fields, brief="內容",
        video_url=video_url, selected=True,
    )  # fmt: skip


def test_every_record_sheet_starts_with_the_student_identifiers() -> None:
    for code in RosterCode:
        for sheet in roster_sheets(code):
            assert sheet.columns[:2] == ("身分證號", "出生日期")


def test_roster_25_sheets_follow_the_performance_categories() -> None:
    """The copied layout and performances' category definitions cannot drift apart."""
    assert [s.category for s in CATEGORY_SHEETS] == [c.value for c in CATEGORIES]
    for sheet in CATEGORY_SHEETS:
        spec = CATEGORIES[sheet.category]  # type: ignore[index]
        assert sheet.sheet == spec.sheet
        assert [(f.name, f.label) for f in sheet.fields] == [(f.name, f.label) for f in spec.fields]
        dates = [f.name for f in spec.fields if f.kind == FieldKind.DATE]
        assert [f.name for f in sheet.fields if f.is_date] == dates
        catalog = (
            ["國內國外", "證照類別", "發照單位", "證照名稱"]
            if sheet.category == "certificate"
            else []
        )
        labels = [f.label for f in spec.fields]
        expected = labels[:1] + catalog + labels[1:]
        assert sheet.columns == (
            "身分證號", "出生日期", *expected, BRIEF_LABEL, "證明文件", VIDEO_LABEL
        )  # fmt: skip
    assert [s.name for s in roster_sheets(RosterCode.PERFORMANCES)] == [
        c.sheet for c in CATEGORIES.values()
    ]


def test_roster_24_and_26_sheets() -> None:
    (cadres,) = roster_sheets(RosterCode.CADRES)
    assert cadres.name == "幹部經歷紀錄"
    assert cadres.columns[2:] == ("單位名稱", "開始日期", "結束日期", "擔任職務", "幹部等級")
    (outcomes,) = roster_sheets(RosterCode.COURSE_OUTCOMES)
    assert outcomes.name == "學期課程學習成果"
    assert outcomes.columns[2:] == (
        "開課年級", "課程代碼", "科目名稱", "修課學分", "實際修課學年度", "實際修課學期",
        "成果簡述", "課程學習成果檔案", "課程學習成果影音連結",
    )  # fmt: skip


def test_the_cover_writes_0_for_the_yearly_roster_and_the_semester_otherwise() -> None:
    assert cover_row(
        school_code="011302", academic_year=115, semester=0, roster_code=RosterCode.PERFORMANCES
    ) == ["011302", 115, 0, "25"]
    assert cover_row(
        school_code="011302", academic_year=115, semester=2, roster_code=RosterCode.CADRES
    ) == ["011302", 115, 2, "24"]
    assert cover_semester(RosterCode.PERFORMANCES, 1) == 0
    assert cover_semester(RosterCode.COURSE_OUTCOMES, 1) == 1
    with pytest.raises(ValueError, match="封面學期"):
        cover_row(
            school_code="011302", academic_year=115, semester=1,
            roster_code=RosterCode.PERFORMANCES,
        )  # fmt: skip
    with pytest.raises(ValueError, match="學期須為 1 或 2"):
        cover_semester(RosterCode.COURSE_OUTCOMES, 0)


def test_attachment_names_carry_no_personal_data() -> None:
    assert attachment_name(RECORD_ID, 1, "pdf") == f"attachments/{RECORD_ID}-1.pdf"
    files = [{"kind": "pdf", "key": "k1"}, {"kind": "mp4", "key": "k2"}]
    assert attachment_names(RECORD_ID, files) == [
        f"attachments/{RECORD_ID}-1.pdf",
        f"attachments/{RECORD_ID}-2.mp4",
    ]
    for bad in ("../x", "PDF", "p df", ""):
        with pytest.raises(ValueError, match="file kind"):
            attachment_name(RECORD_ID, 1, bad)


def test_an_outcome_row() -> None:
    outcome = OutcomeRow(
        outcome_id=RECORD_ID, school_code="011302", student_id=uuid.uuid4(), academic_year=115,
        semester=1, status="certified", outcome_type="書面報告", brief="=報告\n第二段",
        video_url="https://v.example/1", course_code="115011302H11101A1010101",
        subject_name="國語文", credits=4, grade=1,
    )  # fmt: skip
    names = attachment_names(RECORD_ID, [{"kind": "pdf"}, {"kind": "jpg"}])
    sheet, cells = outcome_row(outcome, who=WHO, attachments=names)
    assert sheet == "學期課程學習成果"
    assert cells == [
        "A123456789", "2009/03/04", 1, "115011302H11101A1010101", "國語文", 4, 115, 1,
        "'=報告\n第二段", ";".join(names), "https://v.example/1",
    ]  # fmt: skip


def test_a_cadre_row() -> None:
    cadre = CadreRow(
        cadre_id=RECORD_ID, school_code="011302", student_id=uuid.uuid4(), academic_year=115,
        semester=1, unit_name="@班級", role_title="班長", level=2, start_date="2026-09-01",
    )  # fmt: skip
    assert cadre_row(cadre, who=WHO) == (
        "幹部經歷紀錄",
        ["A123456789", "2009/03/04", "'@班級", "2026/09/01", None, "班長", 2],
    )


def test_a_performance_row_writes_fields_in_column_order() -> None:
    record = _performance(
        "service",
        {"name": "淨灘", "organisation": "-環保局", "start_date": "2026-09-01", "hours": 3.5},
        video_url="https://v.example/2",
    )
    sheet, cells = performance_row(record, who=WHO, attachments=[])
    assert sheet == "服務學習紀錄"
    assert cells == [
        "A123456789", "2009/03/04", "淨灘", "'-環保局", "2026/09/01", None, 3.5, "內容", None,
        "https://v.example/2",
    ]  # fmt: skip


def test_a_certificate_row_fills_the_catalog_columns() -> None:
    record = _performance(
        "certificate", {"certificate_code": "TOEIC", "score": "900", "obtained_on": "2026-10-01"}
    )
    catalog = {"TOEIC": CertificateInfo("多益測驗", "語文", "ETS", domestic=False)}
    names = [attachment_name(RECORD_ID, 1, "pdf")]
    sheet, cells = performance_row(record, who=WHO, attachments=names, certificates=catalog)
    assert sheet == "檢定證照紀錄"
    assert cells == [
        "A123456789", "2009/03/04", "TOEIC", "國外", "語文", "ETS", "多益測驗", None, "900",
        None, "2026/10/01", None, None, "內容", names[0], None,
    ]  # fmt: skip
    _, unknown = performance_row(record, who=WHO, attachments=[])
    assert unknown[3:7] == [None, None, None, None]


def test_every_row_has_as_many_cells_as_its_sheet_has_columns() -> None:
    headers = {s.name: len(s.columns) for s in roster_sheets(RosterCode.PERFORMANCES)}
    for spec in CATEGORIES.values():
        sheet, cells = performance_row(_performance(spec.key.value, {}), who=WHO, attachments=[])
        assert len(cells) == headers[sheet]


def test_identifiers_never_show_in_a_repr() -> None:
    assert "A123456789" not in repr(WHO)
    assert "2009" not in repr(WHO)
