"""The 歷程確認單: a printable page per student of what the central database received, the
comparison marks, the student's confirmation and reports; one PDF per student or per class.

Printed by WeasyPrint (as the portfolio's index.pdf) with the CJK font the project installs
(Noto Sans CJK TC); text reaches the page only through Jinja2's autoescaping and WeasyPrint
fetches nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

from licheng.exports.models import ReceiptReport
from licheng.exports.receipts.compare import normalise
from licheng.exports.receipts.schemas import ANSWER_TITLES, ERROR_CODE_TITLES, ErrorCode
from licheng.exports.receipts.service import StudentRoster, roc_moment, term_text
from licheng.kit.roster import KnownPerson

TEMPLATES = Path(__file__).parent / "templates"
STATUS_TITLES = {"same": "相符", "different": "不同", "not_submitted": "未提交"}
KIND_TITLES = {
    "多元表現": "多元表現",
    "課程學習成果": "課程學習成果",
    "修課紀錄": "修課紀錄",
    "校內幹部經歷": "校內幹部經歷",
}


@dataclass
class PrintedSheet:
    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    missing: int


@dataclass
class PrintedRoster:
    title: str
    sheets: list[PrintedSheet]


@dataclass
class StudentPage:
    """One student's 確認單."""

    school_code: str
    term: str
    generated_at: str
    student_no: str
    name: str
    class_code: str | None
    seat_no: int | None
    confirmation: str
    rosters: list[PrintedRoster] = field(default_factory=list)
    reports: list[dict[str, str]] = field(default_factory=list)


def _printed_roster(roster: StudentRoster) -> PrintedRoster:
    compared = roster.submission_id is not None
    sheets: list[PrintedSheet] = []
    for sheet in roster.sheets:
        columns: list[str] = []
        for record in sheet.records:
            columns.extend(c for c in record.received if c not in columns)
        rows = [
            {
                "cells": [
                    {"text": normalise(r.received.get(c)), "diff": c in r.differences}
                    for c in columns
                ],
                "status": STATUS_TITLES[r.status] if compared else "—",
            }
            for r in sheet.records
        ]
        sheets.append(PrintedSheet(sheet.sheet, columns, rows, len(sheet.missing)))
    return PrintedRoster(KIND_TITLES.get(roster.kind, roster.kind), sheets)


def student_page(
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    person: KnownPerson,
    rosters: list[StudentRoster],
    confirmed_at: datetime | None,
    reports: list[ReceiptReport],
    now: datetime,
) -> StudentPage:
    """What one student's page shows."""
    if reports:
        confirmation = f"已回報 {len(reports)} 個問題"
    elif confirmed_at is not None:
        confirmation = f"已於 {roc_moment(confirmed_at)} 確認資料正確"
    else:
        confirmation = "尚未確認"
    return StudentPage(
        school_code=school_code,
        term=term_text(academic_year, semester),
        generated_at=roc_moment(now),
        student_no=person.local_no,
        name=person.name,
        class_code=person.class_code,
        seat_no=person.seat_no,
        confirmation=confirmation,
        rosters=[_printed_roster(r) for r in rosters],
        reports=[
            {
                "kind": r.kind,
                "sheet": r.sheet,
                "error": ERROR_CODE_TITLES[ErrorCode(r.error_code)],
                "comment": r.comment,
                "answer": (ANSWER_TITLES[r.answer] + "：" + (r.answer_text or ""))
                if r.answer
                else "尚未回覆",
            }
            for r in reports
        ],
    )


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _render(pages: list[StudentPage], title: str) -> bytes:
    html = _environment.get_template("confirmation.html.j2").render(pages=pages, title=title)
    no_fetching = URLFetcher(allowed_protocols=frozenset())
    pdf: bytes = HTML(string=html, url_fetcher=no_fetching).write_pdf()
    return pdf


async def render_pdf(pages: list[StudentPage], *, title: str) -> bytes:
    """The pages printed to one PDF, off the event loop."""
    return await asyncio.to_thread(_render, pages, title)
