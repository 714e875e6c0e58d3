"""導師: my class's 課程學習成果 — per student 填寫 / 認證中 / 認證成功 / 認證失敗 / 勾選, as a
table and an SVG chart, and one student's outcomes (read-only).

The API answers a 導師 only their own classes (another class is an empty list), so the pages
show exactly what it answers; a student outside those classes is "not found".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from licheng.web.charts import OUTCOME_SERIES, outcome_chart, outcome_states
from licheng.web.deps import Api, SchoolSession
from licheng.web.gateway import GatewayApi
from licheng.web.pages.render import render
from licheng.web.pages.teacher import REASONS, STATUS_TITLES

router = APIRouter(prefix="/homeroom", include_in_schema=False)

YearQuery = Annotated[int | None, Query(ge=100, le=200)]
SemesterQuery = Annotated[int | None, Query(ge=1, le=2)]

# The chart's series: every outcome is in exactly one of these states.
PAGE_SIZE = 200
MAX_PAGES = 20


async def school_term(
    api: GatewayApi, school: str, academic_year: int | None, semester: int | None
) -> tuple[int, int]:
    """The term asked for, else the school's current term (identity's school record)."""
    if academic_year is not None and semester is not None:
        return academic_year, semester
    record = await api.get(f"/api/identity/v1/schools/{school}")
    return int(record["academic_year"]), int(record["semester"])


async def class_students(
    api: GatewayApi, school: str, term: tuple[int, int]
) -> list[dict[str, Any]]:
    """Every student the 導師 may see this term, with the counts (all pages)."""
    params: dict[str, Any] = {
        "academic_year": term[0],
        "semester": term[1],
        "sort": "seat_no",
        "limit": PAGE_SIZE,
    }
    rows: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        page = await api.get(
            f"/api/course-outcomes/v1/schools/{school}/status/students", params=params
        )
        rows.extend(page["items"])
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    return rows


def _label(row: dict[str, Any]) -> str:
    seat = row.get("seat_no")
    return f"{seat:02d} {row['name']}" if isinstance(seat, int) else str(row["name"])


def class_chart(class_code: str, rows: Sequence[dict[str, Any]], term: tuple[int, int]) -> Markup:
    """The class's stacked bars: each student's outcomes by state."""
    title = f"班級 {class_code} {term[0]}-{term[1]} 學生課程學習成果狀況"
    # The markup is built by charts.py, which escapes every label from the data.
    return Markup(outcome_chart([(_label(r), r) for r in rows], title=title))  # noqa: S704


@router.get("", response_class=HTMLResponse)
async def my_class(
    request: Request,
    session: SchoolSession,
    api: Api,
    academic_year: YearQuery = None,
    semester: SemesterQuery = None,
) -> HTMLResponse:
    """My class's status per student: a table and a chart per class."""
    assert session.school_code is not None
    term = await school_term(api, session.school_code, academic_year, semester)
    rows = await class_students(api, session.school_code, term)
    classes: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        row["draft"] = outcome_states(row)["draft"]
        classes.setdefault(row.get("class_code") or "未分班", []).append(row)
    sections = [
        {"code": code, "rows": members, "chart": class_chart(code, members, term),
         "totals": {k: sum(int(r[k]) for r in members)
                    for k in ("filled", "draft", "submitted", "certified", "failed", "selected")}}
        for code, members in sorted(classes.items())
    ]  # fmt: skip
    return render(request, "homeroom/class.html", {
        "title": "班級課程學習成果", "term": term, "sections": sections, "series": OUTCOME_SERIES,
    })  # fmt: skip


@router.get("/students/{student_id}", response_class=HTMLResponse)
async def student(
    request: Request,
    student_id: uuid.UUID,
    session: SchoolSession,
    api: Api,
    academic_year: YearQuery = None,
    semester: SemesterQuery = None,
) -> HTMLResponse:
    """One student of my class: the term's outcomes, read-only."""
    assert session.school_code is not None
    term = await school_term(api, session.school_code, academic_year, semester)
    rows = await class_students(api, session.school_code, term)
    found = next((r for r in rows if r["id"] == str(student_id)), None)
    if found is None:
        return render(request, "error.html", {
            "title": "找不到學生", "status": 404, "code": "student_not_found",
            "message": "找不到此學生，或此學生不在您的班級。",
        }, status_code=404)  # fmt: skip
    outcomes: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "academic_year": term[0],
        "semester": term[1],
        "student_id": str(student_id),
        "sort": "course",
        "limit": PAGE_SIZE,
    }
    for _ in range(MAX_PAGES):
        page = await api.get(f"/api/course-outcomes/v1/schools/{session.school_code}/outcomes",
                             params=params)  # fmt: skip
        outcomes.extend(page["items"])
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    return render(request, "homeroom/student.html", {
        "title": f"{found['name']} 的課程學習成果", "term": term, "student": found,
        "outcomes": outcomes, "status_titles": STATUS_TITLES, "reasons": REASONS,
    })  # fmt: skip
