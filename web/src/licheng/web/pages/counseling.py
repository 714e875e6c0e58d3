"""課程諮詢教師: record an individual or a group consultation (students, or a whole class → its
enrolled students), list and search one's records, and download them as xlsx.

Students are picked through guidance's lookup (`GET …/students?q=&class_code=`: 學號, name,
class, seat): the counselor searches by 學號 or name and/or chooses a class; picked students stay
checked across searches. The search runs through htmx (`GET /counseling/students` swaps the
list) and, without JavaScript, through the form's 搜尋學生 button (the form comes back with what
was typed, nothing saved). The group form's class is chosen from guidance's class list. The list
filter offers the students of the counselor's own records.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licheng.web.deps import Api
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.courses import field_errors, passthrough, role_required
from licheng.web.pages.render import render
from licheng.web.sessions import Session

router = APIRouter(prefix="/counseling", include_in_schema=False)

CounselorSession = Annotated[Session, Depends(role_required("counselor"))]
MODE_TITLES = {"individual": "個別諮詢", "group": "團體諮詢"}
FILTERS = (("student_id", 36), ("class_code", 20), ("from", 20), ("until", 20), ("topic", 200))
FORM_FIELDS = ("held_on", "mode", "class_code", "topic", "content", "follow_up")
PAGE_SIZE = 20
KNOWN_RECORDS = 200
LOOKUP_LIMIT = 50
QUERY_MAX = 50
CLASS_MAX = 20


def counseling_filters(request: Request) -> dict[str, str]:
    """The list's filters from the query string (blank ones dropped, text cut to the API's caps)."""
    filters: dict[str, str] = {}
    for name, cap in FILTERS:
        text = request.query_params.get(name, "").strip()
        if text:
            filters[name] = text[:cap]
    return filters


def guidance_api(session: Session) -> str:
    """Guidance's prefix for the chosen school."""
    return f"/api/guidance/v1/schools/{session.school_code}"


async def known_students(api: GatewayApi, session: Session) -> list[dict[str, Any]]:
    """The students of the counselor's newest records, by 班級, 座號, 學號."""
    page = await api.get(
        f"{guidance_api(session)}/counseling", params={"mine": "true", "limit": KNOWN_RECORDS}
    )
    found: dict[str, dict[str, Any]] = {}
    for record in page["items"]:
        for student in record["students"]:
            found.setdefault(str(student["id"]), student)
    return sorted(
        found.values(),
        key=lambda s: (s.get("class_code") or "~", s.get("seat_no") or 999, s["student_no"]),
    )


def student_search(source: Mapping[str, Any]) -> dict[str, str]:
    """The picker's search (`find_q` 學號 or name, `find_class`) as the API's parameters."""
    search: dict[str, str] = {}
    text = str(source.get("find_q", "")).strip()[:QUERY_MAX]
    class_code = str(source.get("find_class", "")).strip()[:CLASS_MAX]
    if text:
        search["q"] = text
    if class_code:
        search["class_code"] = class_code
    return search


async def school_classes(api: GatewayApi, session: Session) -> list[dict[str, Any]]:
    """The school's classes in use (code, grade, enrolled students), by code."""
    page = await api.get(f"{guidance_api(session)}/classes", params={"limit": 200})
    return list(page["items"])


async def student_picker(
    api: GatewayApi, session: Session, *, search: Mapping[str, str], picked: list[str]
) -> dict[str, Any]:
    """The picker: the picked students (kept checked), then up to 50 others matching the search."""
    picker: dict[str, Any] = {
        "chosen": [], "found": [], "total": 0, "limit": LOOKUP_LIMIT,
        "searched": bool(search), "error": None, "search": search,
    }  # fmt: skip
    if picked:
        chosen = await api.get(
            f"{guidance_api(session)}/students", params={"id": picked, "limit": 200}
        )
        picker["chosen"] = chosen["items"]
    if search:
        try:
            page = await api.get(
                f"{guidance_api(session)}/students", params={**search, "limit": LOOKUP_LIMIT}
            )
        except ApiRefused as exc:
            if exc.status in (401, 403):
                raise
            picker["error"] = exc.message
        else:
            keep = set(picked)
            picker["found"] = [s for s in page["items"] if s["id"] not in keep]
            picker["total"] = page["total"]
    return picker


def _picked_ids(values: list[str]) -> list[str]:
    """The picked students' ids that are ids (anything else is dropped)."""
    ids: list[str] = []
    for value in values:
        try:
            ids.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    return ids


def _form_errors(exc: ApiRefused) -> dict[str, str]:
    """The API's field problems by form field (`student_ids.3` is the student list)."""
    errors: dict[str, str] = {}
    for key, message in field_errors(exc).items():
        name = "student_ids" if key.startswith("student_ids") else key
        errors[name] = f"{errors[name]}；{message}" if name in errors else message
    return errors


async def _page(
    request: Request,
    session: Session,
    api: GatewayApi,
    *,
    values: Mapping[str, Any] | None = None,
    search: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The form, the filters and one page of the counselor's records."""
    filters = counseling_filters(request)
    params: dict[str, Any] = {**filters, "limit": PAGE_SIZE}
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor[:200]
    page: dict[str, Any] = {"items": [], "next_cursor": None, "total": 0}
    filter_errors: dict[str, str] = {}
    list_error = None
    try:
        page = await api.get(f"{guidance_api(session)}/counseling", params=params)
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        list_error, filter_errors = exc.message, field_errors(exc)
        status_code = exc.status if status_code == 200 else status_code
    next_url = None
    if page.get("next_cursor"):
        next_url = "/counseling?" + urlencode({**filters, "cursor": page["next_cursor"]})
    return render(request, "counseling/index.html", {
        "title": "課程諮詢紀錄", "page": page, "filters": filters, "modes": MODE_TITLES,
        "students": await known_students(api, session), "next_url": next_url,
        "classes": await school_classes(api, session),
        "picker": await student_picker(
            api, session, search=search or {},
            picked=_picked_ids(list((values or {}).get("student_ids", []))),
        ),
        "first_url": "/counseling?" + urlencode(filters) if cursor else None,
        "download": "/counseling/download.xlsx?" + urlencode(filters),
        "values": values or {"mode": "individual"}, "errors": errors or {}, "error": error,
        "filter_errors": filter_errors, "list_error": list_error, "flash": flash,
    }, status_code=status_code)  # fmt: skip


@router.get("", response_class=HTMLResponse)
async def counseling_page(request: Request, session: CounselorSession, api: Api) -> HTMLResponse:
    """The record form and the counselor's records, searchable."""
    flash = "已新增課程諮詢紀錄" if request.query_params.get("recorded") else None
    search = student_search(request.query_params)
    values = {"mode": "individual", **{k: v for k, v in request.query_params.items()
                                        if k in ("find_q", "find_class")}}  # fmt: skip
    return await _page(request, session, api, values=values, search=search, flash=flash)


@router.get("/students", response_class=HTMLResponse)
async def find_students(request: Request, session: CounselorSession, api: Api) -> HTMLResponse:
    """The picker's list for htmx: the picked students (`student_ids`) and the search's matches."""
    picker = await student_picker(
        api, session, search=student_search(request.query_params),
        picked=_picked_ids(request.query_params.getlist("student_ids")),
    )  # fmt: skip
    return render(request, "counseling/_student_options.html", {"picker": picker})


@router.post("", response_class=HTMLResponse, response_model=None)
async def record_consultation(request: Request, session: CounselorSession, api: Api) -> Response:
    """Record a consultation; every field the API refuses is shown beside it, nothing saved."""
    form = await request.form()
    values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in FORM_FIELDS}
    picked = [str(v) for v in form.getlist("student_ids") if str(v).strip()]
    values["student_ids"] = picked
    values["find_q"] = str(form.get("find_q", "")).strip()
    values["find_class"] = str(form.get("find_class", "")).strip()
    if form.get("action") == "find":  # the 搜尋學生 button without JavaScript: nothing is saved
        return await _page(request, session, api, values=values, search=student_search(form))
    errors: dict[str, str] = {}
    student_ids: list[str] = []
    for value in picked:
        try:
            student_ids.append(str(uuid.UUID(value)))
        except ValueError:
            errors["student_ids"] = "請從清單中選擇學生"
    if values["mode"] not in MODE_TITLES:
        errors["mode"] = "請選擇個別或團體諮詢"
    if errors:
        return await _page(request, session, api, values=values, errors=errors,
                           search=student_search(form), error="請修正標示的欄位後再送出",
                           status_code=422)  # fmt: skip
    payload = {
        "held_on": values["held_on"],
        "mode": values["mode"],
        "student_ids": student_ids,
        "class_code": values["class_code"] or None,
        "topic": values["topic"],
        "content": values["content"],
        "follow_up": values["follow_up"] or None,
    }
    try:
        await api.post(f"{guidance_api(session)}/counseling", json=payload)
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        return await _page(request, session, api, values=values, errors=_form_errors(exc),
                           search=student_search(form), error=exc.message,
                           status_code=exc.status)  # fmt: skip
    return RedirectResponse("/counseling?recorded=1", status_code=303)


@router.get("/download.xlsx", response_model=None)
async def download(request: Request, session: CounselorSession, api: Api) -> Response:
    """The counselor's records matching the filters, every row, as the API's xlsx."""
    response = await api.call(
        "GET", f"{guidance_api(session)}/counseling.xlsx", params=counseling_filters(request)
    )
    return passthrough(response, "counseling.xlsx")
