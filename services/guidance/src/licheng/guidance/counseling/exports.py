"""A counselor's own 課程諮詢紀錄 as an xlsx download: zh-TW headings, cells and file name."""

from __future__ import annotations

from typing import Any

from licheng.guidance.counseling.repository import CounselingQuery
from licheng.guidance.counseling.schemas import MODE_TITLES
from licheng.guidance.models import CounselingMode
from licheng.kit.spreadsheet import (
    CellValue,
    Download,
    Fetch,
    Report,
    TemporaryFileResponse,
    report_download,
    roc_date,
)


def _student(ref: dict[str, Any]) -> str:
    seat = f"{ref['seat_no']}號" if ref["seat_no"] is not None else ""
    parts = (ref["class_code"] or "", seat, ref["name"], ref["student_no"])
    return " ".join(p for p in parts if p)


def _cells(row: dict[str, Any]) -> list[CellValue]:
    return [
        roc_date(row["held_on"]),
        MODE_TITLES[CounselingMode(row["mode"])],
        row["class_code"],
        "、".join(_student(s) for s in row["students"]),
        row["topic"],
        row["content"],
        row["follow_up"],
    ]


RECORDS = Report(
    name="課程諮詢紀錄",
    slug="counseling",
    headings=("日期", "方式", "班級", "學生（班級 座號 姓名 學號）", "主題", "內容", "後續追蹤"),
    cells=_cells,
)


def described(query: CounselingQuery, *, student: str | None) -> list[str]:
    """The filters the counselor chose, as the workbook's 篩選條件 line lists them."""
    found: list[str] = []
    if student is not None:
        found.append(f"學生 {student}")
    if query.class_code is not None:
        found.append(f"班級 {query.class_code}")
    if query.held_from is not None or query.held_until is not None:
        start = roc_date(query.held_from) if query.held_from else ""
        end = roc_date(query.held_until) if query.held_until else ""
        found.append(f"日期 {start}～{end}")
    if query.topic:
        found.append(f"主題含「{query.topic}」")
    return found


async def download(
    query: CounselingQuery, *, fetch: Fetch[dict[str, Any]], student: str | None
) -> TemporaryFileResponse:
    """Every one of the counselor's matching records (fetched a page at a time) as xlsx."""
    return await report_download(
        RECORDS,
        fetch,
        download=Download(filename="課程諮詢紀錄.xlsx", fallback="counseling.xlsx"),
        title=RECORDS.name,
        notes=["本人撰寫的課程諮詢紀錄"],
        filters=described(query, student=student),
    )
