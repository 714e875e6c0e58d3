"""多元表現提交者: parameters and status by class and category.

- `/performances/parameters`: the year's 參數設定 as a form, saved as a JSON merge patch with
  `If-Match` (only what the form changes is sent); refusals shown by their fields.
- `/performances/status`: 填報狀況 per class (an SVG chart by category beside the table) or per
  student, with the filters the API supports and the API's xlsx of the whole list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from licheng.web.charts import stacked_bars
from licheng.web.deps import Api
from licheng.web.gateway import ApiRefused
from licheng.web.pages.courses import (
    field_errors,
    passthrough,
    refusal,
    role_required,
)
from licheng.web.pages.homeroom_performances import (
    CATEGORY_COLOURS,
    category_titles,
    performances_api,
    school_year,
)
from licheng.web.pages.parameter_form import FILE_KINDS, ParameterForm
from licheng.web.pages.render import render
from licheng.web.sessions import Session

router = APIRouter(prefix="/performances", include_in_schema=False)

PERFORMANCE_STAFF = ("performance_submitter", "admin")
PerformanceStaffSession = Annotated[Session, Depends(role_required(*PERFORMANCE_STAFF))]

# --- 參數設定 --------------------------------------------------------------------------------

PARAMETERS = ParameterForm(
    windows=(("fill", "學生填寫期間"), ("select", "學生勾選期間")),
    numbers=(
        ("selections_per_year", "每學年可勾選件數", 0, 30),
        ("files_per_record", "每筆紀錄可上傳證明文件數", 1, 10),
        ("brief_max_chars", "內容簡述字數上限", 10, 2000),
    ),
)


def _parameters_page(
    request: Request,
    year: int,
    values: Mapping[str, str],
    *,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "performances/parameters.html",
        {"title": "多元表現參數設定", "year": year, "values": values, "errors": errors or {},
         "error": error, "flash": flash, "windows": PARAMETERS.windows,
         "numbers": PARAMETERS.numbers, "file_kinds": FILE_KINDS},
        status_code=status_code,
    )  # fmt: skip


@router.get("/parameters", response_class=HTMLResponse)
async def parameters_page(
    request: Request, session: PerformanceStaffSession, api: Api
) -> HTMLResponse:
    """The year's parameters as a form."""
    year = await school_year(request, api, session)
    parameters = await api.get(f"{performances_api(session)}/parameters/{year}")
    flash = "參數設定已儲存" if request.query_params.get("saved") else None
    return _parameters_page(request, year, PARAMETERS.values(parameters), flash=flash)


@router.post("/parameters", response_class=HTMLResponse, response_model=None)
async def save_parameters(request: Request, session: PerformanceStaffSession, api: Api) -> Response:
    """Save the form as a merge patch with `If-Match`; refusals are shown by their fields."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    year_text = values.get("academic_year", "").strip()
    if year_text.isdigit() and 100 <= int(year_text) <= 200:
        year = int(year_text)
    else:
        year = await school_year(request, api, session)
    path = f"{performances_api(session)}/parameters/{year}"
    patch, errors = PARAMETERS.patch(values, await api.get(path))
    if errors:
        return _parameters_page(request, year, values, errors=errors,
                                error="請修正標示的欄位後再儲存", status_code=422)  # fmt: skip
    version = values.get("version", "").strip()
    headers = {"content-type": "application/merge-patch+json"}
    if version.isdigit():
        headers["if-match"] = version
    try:
        if patch:
            await api.patch(path, content=json.dumps(patch).encode(), headers=headers)
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        message = exc.message
        if exc.code == "version_conflict":
            message += "（請重新載入頁面，您輸入的內容尚未儲存）"
        return _parameters_page(request, year, values, errors=field_errors(exc), error=message,
                                status_code=exc.status)  # fmt: skip
    query = urlencode({"academic_year": year, "saved": 1})
    return RedirectResponse(f"/performances/parameters?{query}", status_code=303)


# --- 填報狀況 --------------------------------------------------------------------------------

VIEWS = {
    "classes": ("班級", ("grade", "class_code")),
    "students": ("學生", ("grade", "class_code", "category", "sort", "order")),
}
COUNT_COLUMNS = (
    ("filled", "已填寫"),
    ("selected", "已勾選"),
    ("proof_missing", "未附證明"),
    ("cadres", "校內幹部紀錄"),
)
STUDENT_SORTS = (
    ("class", "班級座號"),
    ("student_no", "學號"),
    ("filled", "已填寫"),
    ("selected", "已勾選"),
    ("cadres", "校內幹部紀錄"),
    ("proof_missing", "未附證明"),
)
PAGE_SIZE = 50


def status_filters(request: Request, view: str, categories: Mapping[str, str]) -> dict[str, str]:
    """The view's filters from the query string (blank ones dropped, bad ones ignored)."""
    filters: dict[str, str] = {}
    for name in VIEWS[view][1]:
        text = request.query_params.get(name, "").strip()
        if not text:
            continue
        if name == "grade" and text not in ("1", "2", "3"):
            continue
        if name == "category" and text not in categories:
            continue
        if name == "sort" and text not in dict(STUDENT_SORTS):
            continue
        if name == "order" and text not in ("asc", "desc"):
            continue
        filters[name] = text[:20]
    return filters


def category_chart(
    items: list[dict[str, Any]], categories: Mapping[str, str], *, title: str
) -> Markup:
    """Stacked bars per class, split by category (charts.py escapes every label)."""
    rows = [
        (str(item.get("class_code") or "未分班"),
         {key: int((item.get("by_category") or {}).get(key, 0)) for key in categories})
        for item in items
    ]  # fmt: skip
    colours = {key: CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i, key in enumerate(categories)}
    return Markup(stacked_bars(rows, categories, colours, title=title))  # noqa: S704


def _view(request: Request) -> str:
    view = request.query_params.get("view", "classes")
    return view if view in VIEWS else "classes"


@router.get("/status", response_class=HTMLResponse)
async def status_page(request: Request, session: PerformanceStaffSession, api: Api) -> HTMLResponse:
    """Counts per class (chart and table) or per student, filtered and paginated."""
    view = _view(request)
    year = await school_year(request, api, session)
    categories = await category_titles(api, session)
    filters = status_filters(request, view, categories)
    params: dict[str, Any] = {"academic_year": year, **filters, "limit": PAGE_SIZE}
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor
    error = None
    page: dict[str, Any] = {"items": [], "next_cursor": None, "total": 0}
    try:
        page = await api.get(f"{performances_api(session)}/status/{view}", params=params)
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        error = exc.message
    chart = None
    if view == "classes" and page.get("items"):
        chart = category_chart(
            page["items"], categories, title=f"{year} 學年度各班多元表現填寫筆數（依類別）"
        )
    base = {"view": view, "academic_year": year, **filters}
    next_url = None
    if page.get("next_cursor"):
        next_url = "/performances/status?" + urlencode({**base, "cursor": page["next_cursor"]})
    return render(
        request,
        "performances/status.html",
        {"title": "多元表現填報狀況", "view": view, "views": VIEWS, "year": year,
         "filters": filters, "page": page, "error": error, "next_url": next_url,
         "first_url": "/performances/status?" + urlencode(base) if cursor else None,
         "tab_urls": {v: "/performances/status?" + urlencode({"view": v, "academic_year": year})
                      for v in VIEWS},
         "download": f"/performances/status/{view}.xlsx?"
         + urlencode({"academic_year": year, **filters}),
         "counts": COUNT_COLUMNS, "sorts": STUDENT_SORTS, "categories": categories,
         "chart": chart},
        status_code=422 if error else 200,
    )  # fmt: skip


@router.get("/status/{view}.xlsx", response_model=None)
async def status_download(
    view: str, request: Request, session: PerformanceStaffSession, api: Api
) -> Response:
    """The API's xlsx of the whole list (same filters), as a download."""
    if view not in VIEWS:
        raise refusal(404, "not_found", "找不到指定的資料")
    year = await school_year(request, api, session)
    categories = await category_titles(api, session)
    params = {"academic_year": year, **status_filters(request, view, categories)}
    response = await api.call("GET", f"{performances_api(session)}/status/{view}.xlsx",
                              params=params)  # fmt: skip
    return passthrough(response, f"performance-status-{view}.xlsx")
