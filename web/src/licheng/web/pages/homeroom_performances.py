"""導師: my class's 多元表現 counts by category (an SVG chart and a table per class), one student's
counts and 校內幹部 records, and the counseling records of my class's students — all read-only.

The APIs answer a 導師 only their own classes (another class is an empty list, a student
outside them is "not found"), so the pages show exactly what they answer. The drill-down shows
the student's counts per category, every 多元表現 record of the year (category, fields, brief,
proof file count, 勾選) from performances' staff list, and their 校內幹部 records.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from licheng.web.charts import stacked_bars
from licheng.web.deps import Api
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.counseling import MODE_TITLES, counseling_filters
from licheng.web.pages.courses import field_errors, int_arg, role_required
from licheng.web.pages.render import render
from licheng.web.pages.student_performances import with_display
from licheng.web.sessions import Session

router = APIRouter(prefix="/homeroom", include_in_schema=False)

HomeroomSession = Annotated[Session, Depends(role_required("homeroom_teacher"))]
PAGE_SIZE = 200
MAX_PAGES = 20
COUNSELING_PAGE = 20
# One colour per category, in the categories' order (distinct under common colour blindness
# as far as ten colours can be; the table beside the chart carries every number).
CATEGORY_COLOURS = (
    "#1f5fa8", "#d69e2e", "#1e7b34", "#b42318", "#6b46c1",
    "#0f766e", "#c2410c", "#475467", "#be185d", "#65a30d",
)  # fmt: skip


def performances_api(session: Session) -> str:
    """Performances' prefix for the chosen school."""
    return f"/api/performances/v1/schools/{session.school_code}"


async def school_year(request: Request, api: GatewayApi, session: Session) -> int:
    """The academic year asked for (`?academic_year=`), else the school's current one."""
    year = int_arg(request, "academic_year", 100, 200)
    if year is not None:
        return year
    school = await api.get(f"/api/identity/v1/schools/{session.school_code}")
    return int(school["academic_year"])


async def categories_of(api: GatewayApi, session: Session) -> dict[str, Any]:
    """The categories in their order: key → definition (title, fields with labels and codes)."""
    categories = await api.get(f"{performances_api(session)}/categories")
    return {str(c["key"]): c for c in categories}


async def category_titles(api: GatewayApi, session: Session) -> dict[str, str]:
    """The categories in their order: key → zh-TW title."""
    return {key: str(c["title"]) for key, c in (await categories_of(api, session)).items()}


async def student_records(
    api: GatewayApi, session: Session, student_id: uuid.UUID, year: int
) -> list[dict[str, Any]]:
    """One student's records of the year (all pages), as the staff list answers them."""
    params: dict[str, Any] = {"student_id": str(student_id), "academic_year": year,
                              "limit": PAGE_SIZE}  # fmt: skip
    rows: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = await api.get(f"{performances_api(session)}/performances", params=params)
        rows.extend(page["items"])
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    return rows


async def class_students(api: GatewayApi, session: Session, year: int) -> list[dict[str, Any]]:
    """Every student of my classes with their counts for the year (all pages)."""
    params: dict[str, Any] = {"academic_year": year, "limit": PAGE_SIZE}
    rows: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = await api.get(f"{performances_api(session)}/status/students", params=params)
        rows.extend(page["items"])
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    return rows


def _label(row: Mapping[str, Any]) -> str:
    seat = row.get("seat_no")
    return f"{seat:02d} {row['name']}" if isinstance(seat, int) else str(row["name"])


def category_chart(
    title: str, rows: Sequence[Mapping[str, Any]], titles: Mapping[str, str]
) -> Markup:
    """Stacked bars: each student's records of the year by category."""
    colours = dict(zip(titles, CATEGORY_COLOURS, strict=False))
    data = [(_label(r), {k: int(r["by_category"].get(k, 0)) for k in titles}) for r in rows]
    # charts.py escapes every label taken from the data.
    return Markup(stacked_bars(data, titles, colours, title=title))  # noqa: S704


@router.get("/performances", response_class=HTMLResponse)
async def class_performances(request: Request, session: HomeroomSession, api: Api) -> HTMLResponse:
    """My classes' 多元表現 counts by category: a chart and a table per class."""
    year = await school_year(request, api, session)
    titles = await category_titles(api, session)
    classes: dict[str, list[dict[str, Any]]] = {}
    for row in await class_students(api, session, year):
        classes.setdefault(row.get("class_code") or "未分班", []).append(row)
    sections = []
    for code, members in sorted(classes.items()):
        totals = {k: sum(int(r["by_category"].get(k, 0)) for r in members) for k in titles}
        sections.append({
            "code": code, "rows": members, "totals": totals,
            "filled": sum(int(r["filled"]) for r in members),
            "selected": sum(int(r["selected"]) for r in members),
            "proof_missing": sum(int(r["proof_missing"]) for r in members),
            "cadres": sum(int(r["cadres"]) for r in members),
            "chart": category_chart(f"班級 {code} {year} 學年度學生多元表現類別分布",
                                    members, titles),
        })  # fmt: skip
    return render(request, "homeroom/performances.html", {
        "title": "班級多元表現", "year": year, "sections": sections, "categories": titles,
    })  # fmt: skip


@router.get("/performances/students/{student_id}", response_class=HTMLResponse)
async def student_performances(
    request: Request, student_id: uuid.UUID, session: HomeroomSession, api: Api
) -> HTMLResponse:
    """One student of my class: the year's counts by category, records and 校內幹部 records."""
    year = await school_year(request, api, session)
    categories = await categories_of(api, session)
    titles = {key: str(c["title"]) for key, c in categories.items()}
    rows = await class_students(api, session, year)
    found = next((r for r in rows if r["id"] == str(student_id)), None)
    if found is None:
        return render(request, "error.html", {
            "title": "找不到學生", "status": 404, "code": "student_not_found",
            "message": "找不到此學生，或此學生不在您的班級。",
        }, status_code=404)  # fmt: skip
    records = [with_display(r, categories)
               for r in await student_records(api, session, student_id, year)]  # fmt: skip
    cadres = await api.get(
        f"{performances_api(session)}/cadres",
        params={"academic_year": year, "student_id": str(student_id), "limit": PAGE_SIZE},
    )
    return render(request, "homeroom/performance_student.html", {
        "title": f"{found['name']} 的多元表現", "year": year, "student": found,
        "categories": titles, "records": records, "cadres": cadres["items"],
    })  # fmt: skip


@router.get("/counseling", response_class=HTMLResponse)
async def class_counseling(request: Request, session: HomeroomSession, api: Api) -> HTMLResponse:
    """The counseling records of my classes' students (only my students are listed in each)."""
    filters = counseling_filters(request)
    params: dict[str, Any] = {**filters, "limit": COUNSELING_PAGE}
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor[:200]
    page: dict[str, Any] = {"items": [], "next_cursor": None, "total": 0}
    error: str | None = None
    errors: dict[str, str] = {}
    status_code = 200
    try:
        page = await api.get(
            f"/api/guidance/v1/schools/{session.school_code}/counseling", params=params
        )
    except ApiRefused as exc:
        if exc.code == "counseling_not_readable":  # a 導師 of no class this term: nothing to read
            error = "您目前沒有擔任導師的班級，因此沒有可瀏覽的課程諮詢紀錄。"
        elif exc.status in (401, 403):
            raise
        else:
            error, errors, status_code = exc.message, field_errors(exc), exc.status
    next_url = None
    if page.get("next_cursor"):
        next_url = "/homeroom/counseling?" + urlencode({**filters, "cursor": page["next_cursor"]})
    return render(request, "homeroom/counseling.html", {
        "title": "班級課程諮詢紀錄", "page": page, "filters": filters, "errors": errors,
        "error": error, "next_url": next_url, "modes": MODE_TITLES,
        "first_url": "/homeroom/counseling?" + urlencode(filters) if cursor else None,
    }, status_code=status_code)  # fmt: skip
