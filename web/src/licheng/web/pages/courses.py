"""課程學習提交者's pages: 參數設定, 填報狀況 (with xlsx downloads) and 修課紀錄匯入.

Also the small form helpers the admin and district pages share: the role check that answers the
403 page, the term of the chosen school, Taiwan-time `datetime-local` values, and the mapping of
an API refusal's `detail` onto the fields of a form.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import UploadFile

from licheng.web.charts import outcome_chart
from licheng.web.deps import Api, SchoolSession
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.parameter_form import FILE_KINDS, ParameterForm
from licheng.web.pages.render import render
from licheng.web.sessions import Session

router = APIRouter(include_in_schema=False)

TAIPEI = timezone(timedelta(hours=8))
COURSE_STAFF = ("course_submitter", "admin")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# --- shared form helpers -------------------------------------------------------------------


def refusal(status: int, code: str, message: str) -> ApiRefused:
    """An `ApiRefused` made by the portal itself (the app renders it as the error page)."""
    return ApiRefused(httpx.Response(status, json={"error": code, "message": message}))


def forbidden() -> ApiRefused:
    """The 403 page for a person whose roles do not include the page."""
    return refusal(403, "forbidden", "您沒有使用此功能的權限")


def role_required(*roles: str) -> Callable[[Session], Awaitable[Session]]:
    """A dependency: the school session, when the person holds one of `roles` there."""

    async def check(session: SchoolSession) -> Session:
        if not set(roles) & set(session.roles()):
            raise forbidden()
        return session

    return check


CourseStaffSession = Annotated[Session, Depends(role_required(*COURSE_STAFF))]


def field_errors(exc: ApiRefused, known: Mapping[str, str] | None = None) -> dict[str, str]:
    """The API's per-field messages (`detail[].field` → message), by form field id.

    `known` maps API field names to form ids (default: the name with dots as dashes).
    """
    errors: dict[str, str] = {}
    if not isinstance(exc.detail, list):
        return errors
    for item in exc.detail:
        if not isinstance(item, dict) or not item.get("field"):
            continue
        name = str(item["field"])
        key = (known or {}).get(name, name.replace(".", "-"))
        message = str(item.get("message") or exc.message)
        errors[key] = f"{errors[key]}；{message}" if key in errors else message
    return errors


def row_errors(exc: ApiRefused) -> list[dict[str, Any]]:
    """The rows of an `invalid_rows` refusal ({sheet, row, column, code, message})."""
    if exc.code != "invalid_rows" or not isinstance(exc.detail, list):
        return []
    return [item for item in exc.detail if isinstance(item, dict)]


async def upload_of(request: Request) -> tuple[str, bytes, str] | None:
    """The form's `file` (name, bytes, content type), or None when no file was chosen."""
    form = await request.form()
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            return None
        data = await upload.read()
        if not data:
            return None
        return upload.filename, data, upload.content_type or "application/octet-stream"
    finally:
        await form.close()  # the spooled temporary files of every uploaded file


def passthrough(response: httpx.Response, fallback_name: str) -> Response:
    """An API download (xlsx) answered as the portal's own, with its file name."""
    if response.status_code >= 400:
        raise ApiRefused(response)
    disposition = response.headers.get(
        "content-disposition", f'attachment; filename="{fallback_name}"'
    )
    return Response(
        response.content,
        media_type=response.headers.get("content-type", XLSX),
        headers={"content-disposition": disposition, "cache-control": "no-store"},
    )


def int_arg(request: Request, name: str, low: int, high: int) -> int | None:
    """An integer query parameter within bounds, or None."""
    text = request.query_params.get(name, "").strip()
    if not text.isdigit():
        return None
    value = int(text)
    return value if low <= value <= high else None


async def school_term(request: Request, api: GatewayApi, session: Session) -> tuple[int, int]:
    """The term a page works on: `?academic_year=&semester=` or the school's current term."""
    year = int_arg(request, "academic_year", 100, 200)
    semester = int_arg(request, "semester", 1, 2)
    if year is not None and semester is not None:
        return year, semester
    school = await api.get(f"/api/identity/v1/schools/{session.school_code}")
    return int(school["academic_year"]), int(school["semester"])


def courses_api(session: Session) -> str:
    """Course outcomes' prefix for the chosen school."""
    return f"/api/course-outcomes/v1/schools/{session.school_code}"


# --- 參數設定 --------------------------------------------------------------------------------

PARAMETERS = ParameterForm(
    windows=(("upload", "學生上傳期間"), ("certify", "教師認證期間"), ("select", "學生勾選期間")),
    numbers=(
        ("uploads_per_semester", "每學期可上傳成果件數", 1, 100),
        ("selections_per_semester", "每學期可勾選件數", 0, 20),
        ("files_per_outcome", "每件成果可上傳檔案數", 1, 10),
        ("brief_max_chars", "內容簡述字數上限", 10, 2000),
    ),
)


def _parameters_page(
    request: Request,
    term: tuple[int, int],
    values: Mapping[str, str],
    *,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "courses/parameters.html",
        {"title": "課程學習成果參數設定", "term": term, "values": values,
         "errors": errors or {}, "error": error, "flash": flash, "windows": PARAMETERS.windows,
         "numbers": PARAMETERS.numbers, "file_kinds": FILE_KINDS},
        status_code=status_code,
    )  # fmt: skip


@router.get("/courses/parameters", response_class=HTMLResponse)
async def parameters_page(request: Request, session: CourseStaffSession, api: Api) -> HTMLResponse:
    """The term's parameters as a form."""
    term = await school_term(request, api, session)
    parameters = await api.get(f"{courses_api(session)}/parameters/{term[0]}/{term[1]}")
    flash = "參數設定已儲存" if request.query_params.get("saved") else None
    return _parameters_page(request, term, PARAMETERS.values(parameters), flash=flash)


@router.post("/courses/parameters", response_class=HTMLResponse, response_model=None)
async def save_parameters(request: Request, session: CourseStaffSession, api: Api) -> Response:
    """Save the form as a merge patch with `If-Match`; refusals are shown by their fields."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    year = int(values.get("academic_year", "0") or 0)
    semester = int(values.get("semester", "0") or 0)
    if not (100 <= year <= 200 and semester in (1, 2)):
        year, semester = await school_term(request, api, session)
    term = (year, semester)
    path = f"{courses_api(session)}/parameters/{year}/{semester}"
    patch, errors = PARAMETERS.patch(values, await api.get(path))
    if errors:
        return _parameters_page(request, term, values, errors=errors,
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
        return _parameters_page(request, term, values, errors=field_errors(exc), error=message,
                                status_code=exc.status)  # fmt: skip
    query = urlencode({"academic_year": year, "semester": semester, "saved": 1})
    return RedirectResponse(f"/courses/parameters?{query}", status_code=303)


# --- 填報狀況 --------------------------------------------------------------------------------

COUNT_COLUMNS = (
    ("filled", "已填寫"),
    ("submitted", "認證中"),
    ("certified", "認證成功"),
    ("failed", "認證失敗"),
    ("selected", "已勾選"),
)
VIEWS = {
    "students": ("學生", ("grade", "class_code", "course_code", "sort", "order")),
    "classes": ("班級", ("grade", "class_code")),
    "teachers": ("教師", ()),
    "courses": ("課程", ("course_code",)),
}
STUDENT_SORTS = (
    ("class", "班級座號"),
    ("student_no", "學號"),
    ("filled", "已填寫"),
    ("submitted", "認證中"),
    ("certified", "認證成功"),
    ("failed", "認證失敗"),
    ("selected", "已勾選"),
)
PAGE_SIZE = 50


def _status_filters(request: Request, view: str) -> dict[str, str]:
    """The view's filters from the query string (blank ones dropped, bad ones ignored)."""
    allowed = VIEWS[view][1]
    filters: dict[str, str] = {}
    for name in allowed:
        text = request.query_params.get(name, "").strip()
        if not text:
            continue
        if name == "grade" and text not in ("1", "2", "3"):
            continue
        if name == "sort" and text not in dict(STUDENT_SORTS):
            continue
        if name == "order" and text not in ("asc", "desc"):
            continue
        filters[name] = text[:23]
    return filters


@router.get("/courses/status", response_class=HTMLResponse)
async def status_page(request: Request, session: CourseStaffSession, api: Api) -> HTMLResponse:
    """Counts per student, class, teacher or course, filtered and paginated."""
    view = request.query_params.get("view", "students")
    if view not in VIEWS:
        view = "students"
    year, semester = await school_term(request, api, session)
    filters = _status_filters(request, view)
    params: dict[str, Any] = {"academic_year": year, "semester": semester, **filters,
                              "limit": PAGE_SIZE}  # fmt: skip
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor
    error = None
    page: dict[str, Any] = {"items": [], "next_cursor": None, "total": 0}
    try:
        page = await api.get(f"{courses_api(session)}/status/{view}", params=params)
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        error = exc.message
    chart = None
    if view == "classes" and page.get("items"):
        labelled = [(f"{row.get('class_code') or '未分班'}", row) for row in page["items"]]
        # charts.py escapes every label taken from the data.
        chart = Markup(  # noqa: S704
            outcome_chart(labelled, title=f"{year}-{semester} 各班課程學習成果狀態分布")
        )
    base = {"view": view, "academic_year": year, "semester": semester, **filters}
    next_url = None
    if page.get("next_cursor"):
        next_url = "/courses/status?" + urlencode({**base, "cursor": page["next_cursor"]})
    download = f"/courses/status/{view}.xlsx?" + urlencode(
        {"academic_year": year, "semester": semester, **filters}
    )
    return render(
        request,
        "courses/status.html",
        {"title": "課程學習成果填報狀況", "view": view, "views": VIEWS, "term": (year, semester),
         "filters": filters, "page": page, "error": error, "next_url": next_url,
         "first_url": "/courses/status?" + urlencode(base) if cursor else None,
         "tab_urls": {v: "/courses/status?" + urlencode(
             {"view": v, "academic_year": year, "semester": semester}) for v in VIEWS},
         "download": download, "counts": COUNT_COLUMNS, "sorts": STUDENT_SORTS,
         "chart": chart},
        status_code=422 if error else 200,
    )  # fmt: skip


@router.get("/courses/status/{view}.xlsx", response_model=None)
async def status_download(
    view: str, request: Request, session: CourseStaffSession, api: Api
) -> Response:
    """The API's xlsx of the whole list (same filters), as a download."""
    if view not in VIEWS:
        raise refusal(404, "not_found", "找不到指定的資料")
    year, semester = await school_term(request, api, session)
    params = {"academic_year": year, "semester": semester, **_status_filters(request, view)}
    response = await api.call("GET", f"{courses_api(session)}/status/{view}.xlsx", params=params)
    return passthrough(response, f"status-{view}.xlsx")


# --- 修課紀錄匯入 ----------------------------------------------------------------------------

COURSE_COUNTS = (
    ("rows", "資料列"),
    ("sections_created", "新增開課"),
    ("sections_updated", "更新開課"),
    ("enrolments_created", "新增修課紀錄"),
    ("enrolments_updated", "更新修課紀錄"),
)


def _imports_page(
    request: Request,
    term: tuple[int, int],
    *,
    rows: list[dict[str, Any]] | None = None,
    error: str | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "courses/imports.html",
        {"title": "修課紀錄匯入", "term": term, "rows": rows or [], "error": error,
         "flash": flash},
        status_code=status_code,
    )  # fmt: skip


@router.get("/courses/imports", response_class=HTMLResponse)
async def imports_page(request: Request, session: CourseStaffSession, api: Api) -> HTMLResponse:
    """The upload form; after an import, its counts."""
    term = await school_term(request, api, session)
    flash = None
    if request.query_params.get("done"):
        parts = [
            f"{label} {int_arg(request, name, 0, 10**7) or 0} 筆" for name, label in COURSE_COUNTS
        ]
        flash = f"{term[0]} 學年度第 {term[1]} 學期修課紀錄已匯入：" + "、".join(parts)
    return _imports_page(request, term, flash=flash)


@router.post("/courses/imports", response_class=HTMLResponse, response_model=None)
async def import_course_records(
    request: Request, session: CourseStaffSession, api: Api
) -> Response:
    """Send the file to the API; every refused row is shown in a table, nothing is written."""
    form = await request.form()
    year_text, semester_text = str(form.get("academic_year", "")), str(form.get("semester", ""))
    if year_text.isdigit() and semester_text in ("1", "2") and 100 <= int(year_text) <= 200:
        term = (int(year_text), int(semester_text))
    else:
        term = await school_term(request, api, session)
    upload = await upload_of(request)
    if upload is None:
        return _imports_page(request, term, error="請選擇要匯入的檔案", status_code=422)
    try:
        summary = await api.post(
            f"{courses_api(session)}/course-records/imports",
            params={"academic_year": term[0], "semester": term[1]},
            files={"file": upload},
        )
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        return _imports_page(request, term, rows=row_errors(exc), error=exc.message,
                             status_code=exc.status)  # fmt: skip
    counts = {name: int(summary.get(name, 0)) for name, _ in COURSE_COUNTS}
    query = urlencode({"academic_year": term[0], "semester": term[1], "done": 1, **counts})
    return RedirectResponse(f"/courses/imports?{query}", status_code=303)


@router.get("/courses/imports/template", response_model=None)
async def course_records_template(session: CourseStaffSession, api: Api) -> Response:
    """The API's 修課紀錄 template (xlsx)."""
    response = await api.call("GET", f"{courses_api(session)}/course-records/template")
    return passthrough(response, "course-records.xlsx")
