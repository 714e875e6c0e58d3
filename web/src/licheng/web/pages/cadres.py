"""校內幹部提交者: cadre import and counts per class.

`/cadres/imports` uploads the school's 校內幹部 workbook or CSV (all or nothing: every refused
row is listed, nothing is written), offers the template, and shows the term's counts per class
(an SVG chart by 幹部等級 beside the table) and, for a chosen class, per student.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from licheng.web.charts import stacked_bars
from licheng.web.deps import Api
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.courses import (
    int_arg,
    passthrough,
    role_required,
    row_errors,
    school_term,
    upload_of,
)
from licheng.web.pages.paging import every_item
from licheng.web.pages.render import render
from licheng.web.sessions import Session

router = APIRouter(prefix="/cadres", include_in_schema=False)

CADRE_STAFF = ("cadre_submitter", "admin")
CadreStaffSession = Annotated[Session, Depends(role_required(*CADRE_STAFF))]
IMPORT_COUNTS = (
    ("rows", "資料列"),
    ("created", "新增"),
    ("updated", "更新"),
    ("unchanged", "未變更"),
)
LEVELS = {"school_level": "校級", "class_level": "班級", "club_level": "社團"}
LEVEL_COLOURS = {"school_level": "#1f5fa8", "class_level": "#d69e2e", "club_level": "#1e7b34"}


def cadres_api(session: Session) -> str:
    """Performances' prefix for the chosen school (the cadre endpoints live there)."""
    return f"/api/performances/v1/schools/{session.school_code}"


def class_filter(request: Request) -> str | None:
    """The `?class_code=` asked for, trimmed; None when blank."""
    text = request.query_params.get("class_code", "").strip()[:20]
    return text or None


async def _counts(
    api: GatewayApi, session: Session, term: tuple[int, int], class_code: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The term's counts per class and, for a chosen class, per student."""
    params: dict[str, Any] = {"academic_year": term[0], "semester": term[1]}
    classes = await every_item(api, f"{cadres_api(session)}/cadres/counts/classes", params)
    students: list[dict[str, Any]] = []
    if class_code:
        students = await every_item(
            api, f"{cadres_api(session)}/cadres/counts", {**params, "class_code": class_code}
        )
    return classes, students


async def _imports_page(
    request: Request,
    api: GatewayApi,
    session: Session,
    term: tuple[int, int],
    *,
    rows: list[dict[str, Any]] | None = None,
    error: str | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    class_code = class_filter(request)
    classes, students = await _counts(api, session, term, class_code)
    chart = None
    if classes:
        labelled = [
            (str(c.get("class_code") or "未分班"), {k: int(c.get(k) or 0) for k in LEVELS})
            for c in classes
        ]
        title = f"{term[0]} 學年度第 {term[1]} 學期各班校內幹部紀錄數（依幹部等級）"
        # charts.py escapes every label taken from the data.
        chart = Markup(stacked_bars(labelled, LEVELS, LEVEL_COLOURS, title=title))  # noqa: S704
    return render(
        request,
        "cadres/imports.html",
        {"title": "校內幹部匯入", "term": term, "rows": rows or [], "error": error,
         "flash": flash, "classes": classes, "students": students, "class_code": class_code,
         "chart": chart, "levels": LEVELS,
         "class_urls": {str(c["class_code"]): "/cadres/imports?" + urlencode(
             {"academic_year": term[0], "semester": term[1], "class_code": c["class_code"]})
             for c in classes if c.get("class_code")}},
        status_code=status_code,
    )  # fmt: skip


@router.get("/imports", response_class=HTMLResponse)
async def imports_page(request: Request, session: CadreStaffSession, api: Api) -> HTMLResponse:
    """The upload form, the template, and the term's counts per class."""
    term = await school_term(request, api, session)
    flash = None
    if request.query_params.get("done"):
        parts = [
            f"{label} {int_arg(request, name, 0, 10**7) or 0} 筆" for name, label in IMPORT_COUNTS
        ]
        flash = "校內幹部資料已匯入：" + "、".join(parts)
    return await _imports_page(request, api, session, term, flash=flash)


@router.post("/imports", response_class=HTMLResponse, response_model=None)
async def import_cadres(request: Request, session: CadreStaffSession, api: Api) -> Response:
    """Send the file to the API; every refused row is shown in a table, nothing is written."""
    form = await request.form()
    year_text, semester_text = str(form.get("academic_year", "")), str(form.get("semester", ""))
    if year_text.isdigit() and semester_text in ("1", "2") and 100 <= int(year_text) <= 200:
        term = (int(year_text), int(semester_text))
    else:
        term = await school_term(request, api, session)
    upload = await upload_of(request)
    if upload is None:
        return await _imports_page(request, api, session, term, error="請選擇要匯入的檔案",
                                   status_code=422)  # fmt: skip
    try:
        summary = await api.post(f"{cadres_api(session)}/cadres/imports", files={"file": upload})
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        return await _imports_page(request, api, session, term, rows=row_errors(exc),
                                   error=exc.message, status_code=exc.status)  # fmt: skip
    counts = {name: int(summary.get(name, 0)) for name, _ in IMPORT_COUNTS}
    query = urlencode({"academic_year": term[0], "semester": term[1], "done": 1, **counts})
    return RedirectResponse(f"/cadres/imports?{query}", status_code=303)


@router.get("/imports/template", response_model=None)
async def cadres_template(session: CadreStaffSession, api: Api) -> Response:
    """The API's 校內幹部 template (xlsx)."""
    response = await api.call("GET", f"{cadres_api(session)}/cadres/template")
    return passthrough(response, "cadres-template.xlsx")
