"""The status lists as xlsx downloads: their zh-TW headings, cells and file names."""

from __future__ import annotations

from typing import Any

from licheng.kit.spreadsheet import (
    CellValue,
    Download,
    Fetch,
    Report,
    TemporaryFileResponse,
    report_download,
)
from licheng.performances.categories import CATEGORIES
from licheng.performances.models import Category
from licheng.performances.status.repository import ClassQuery, StudentQuery

CATEGORY_HEADINGS = tuple(CATEGORIES[c].title for c in Category)
COUNT_HEADINGS = ("已填寫", "已勾選", "幹部紀錄")
PROOF_HEADING = "未附證明文件"


def _counts(row: dict[str, Any]) -> list[CellValue]:
    by_category: dict[str, int] = row["by_category"]
    return [row["filled"], row["selected"], row["cadres"],
            *(by_category[c.value] for c in Category), row["proof_missing"]]  # fmt: skip


STUDENTS = Report(
    name="學生填寫狀況",
    slug="students",
    headings=("班級", "座號", "學號", "姓名", *COUNT_HEADINGS, *CATEGORY_HEADINGS, PROOF_HEADING),
    cells=lambda r: [r["class_code"], r["seat_no"], r["local_no"], r["name"], *_counts(r)],
)

CLASSES = Report(
    name="班級填寫狀況",
    slug="classes",
    headings=("班級", "年級", "導師", "學生人數", "有填寫學生數", *COUNT_HEADINGS,
              *CATEGORY_HEADINGS, PROOF_HEADING),
    cells=lambda r: [r["class_code"], r["grade"], r["homeroom_name"], r["students"],
                     r["students_with_records"], *_counts(r)],
)  # fmt: skip


def described(query: StudentQuery | ClassQuery) -> list[str]:
    """The filters a person chose, as the workbook's 篩選條件 line lists them."""
    found: list[str] = []
    if query.grade is not None:
        found.append(f"{query.grade} 年級")
    if query.class_codes is not None:
        found.append("班級 " + ("、".join(query.class_codes) or "（無）"))
    if isinstance(query, StudentQuery) and query.category is not None:
        found.append(f"類別 {CATEGORIES[query.category].title}（已填寫、已勾選、未附證明文件）")
    return found


async def download(
    report: Report,
    query: StudentQuery | ClassQuery,
    *,
    fetch: Fetch[dict[str, Any]],
) -> TemporaryFileResponse:
    """Every row of the list (fetched a page at a time) as an xlsx attachment."""
    year = query.year.academic_year
    return await report_download(
        report,
        fetch,
        download=Download(
            filename=f"多元表現_{report.name}_{year}.xlsx",
            fallback=f"performances-{report.slug}-{year}.xlsx",
        ),
        title=f"{report.name} {year}",
        notes=[f"{year} 學年度 多元表現{report.name}"],
        filters=described(query),
    )
