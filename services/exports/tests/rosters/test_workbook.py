"""The 名冊 workbook: cover, every sheet with its header, rows, and the same bytes every time."""

from __future__ import annotations

import time
import uuid
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest

from licheng.contracts.rosters import RosterCode
from licheng.exports.models import PerformanceRow
from licheng.exports.rosters.layout import Identifiers, performance_row, roster_sheets
from licheng.exports.rosters.workbook import MAX_ROWS, RosterWorkbookWriter

FIXED = datetime(2026, 12, 1, 8, 30, 10, tzinfo=UTC)
WHO = Identifiers("A123456789", date(2009, 3, 4))


def _record(name: str) -> PerformanceRow:
    return PerformanceRow(
        performance_id=uuid.UUID(int=7), school_code="011302", student_id=uuid.UUID(int=8),
        academic_year=115, category="competition", origin="self",
        fields={"name": name, "level": "3", "announced_on": "2026-11-02", "team": "1"},
        brief="全國賽", selected=True,
    )  # fmt: skip


def _write(path: Path) -> None:
    writer = RosterWorkbookWriter(
        path, roster_code=RosterCode.PERFORMANCES, fixed_time=FIXED, school_code="011302",
        academic_year=115, semester=0,
    )  # fmt: skip
    for name in ("=科展", "數學競賽"):
        writer.append(*performance_row(_record(name), who=WHO, attachments=[]))
    writer.close()


def test_the_workbook_reads_back_with_cover_headers_and_rows(tmp_path: Path) -> None:
    path = tmp_path / "25.xlsx"
    _write(path)
    book = openpyxl.load_workbook(path)
    sheets = roster_sheets(RosterCode.PERFORMANCES)
    assert book.sheetnames == ["封面", *(s.name for s in sheets)]
    cover = list(book["封面"].values)
    assert cover == [("學校代碼", "學年度", "學期", "名冊別"), ("011302", 115, 0, "25")]
    for sheet in sheets:  # a sheet with no records still has its header
        assert next(iter(book[sheet.name].values)) == sheet.columns
    rows = list(book["競賽參與紀錄"].values)
    assert len(rows) == 3
    assert rows[1] == (
        "A123456789", "2009/03/04", "'=科展", None, "3", None, "2026/11/02", "1", "全國賽",
        None, None,
    )  # fmt: skip
    book.close()
    assert book.properties.creator == "licheng"


def test_the_same_input_gives_the_same_bytes(tmp_path: Path) -> None:
    _write(tmp_path / "first.xlsx")
    time.sleep(2.1)  # the ZIP's time resolution: a second run would otherwise differ
    _write(tmp_path / "second.xlsx")
    assert (tmp_path / "first.xlsx").read_bytes() == (tmp_path / "second.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "first.xlsx") as archive:
        assert {info.date_time for info in archive.infolist()} == {(2026, 12, 1, 8, 30, 10)}
        assert b"2026-12-01T08:30:10Z" in archive.read("docProps/core.xml")


def test_counts_are_kept_per_sheet(tmp_path: Path) -> None:
    writer = RosterWorkbookWriter(
        tmp_path / "25.xlsx", roster_code=RosterCode.PERFORMANCES, fixed_time=FIXED,
        school_code="011302", academic_year=115, semester=0,
    )  # fmt: skip
    writer.append(*performance_row(_record("x"), who=WHO, attachments=[]))
    assert writer.counts["競賽參與紀錄"] == 1
    assert writer.counts["服務學習紀錄"] == 0
    writer.close()


def test_an_abandoned_workbook_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "24.xlsx"
    writer = RosterWorkbookWriter(
        path, roster_code=RosterCode.CADRES, fixed_time=FIXED, school_code="011302",
        academic_year=115, semester=1,
    )  # fmt: skip
    writer.append("幹部經歷紀錄", ["A123456789", "2009/03/04", "班級", None, None, "班長", 2])
    # openpyxl's temporary sheet files hold 身分證號 too: none may be left behind
    temporary = [Path(sheet._writer.out) for sheet in writer._workbook.worksheets]
    assert all(p.exists() for p in temporary)
    writer.abandon()
    assert not any(p.exists() for p in temporary)
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_sheet_cannot_grow_past_excels_row_limit(tmp_path: Path) -> None:
    writer = RosterWorkbookWriter(
        tmp_path / "24.xlsx", roster_code=RosterCode.CADRES, fixed_time=FIXED,
        school_code="011302", academic_year=115, semester=1,
    )  # fmt: skip
    writer._counts["幹部經歷紀錄"] = MAX_ROWS - 1  # as if the sheet were full
    with pytest.raises(ValueError, match="超過 Excel"):
        writer.append("幹部經歷紀錄", ["A123456789", "2009/03/04", "班級", None, None, "班長", 2])
    writer.abandon()
