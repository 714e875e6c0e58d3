"""學生: my 多元表現 of a 學年度 by category, proof files, video link, 勾選, and my 校內幹部.

The category definitions (`GET …/categories`) drive the forms: the student picks a category,
then fills that category's own fields (zh-TW labels, an input per kind, required marks). Every
action is its own POST route that calls the performances API as the signed-in student and
redirects (PRG); a refusal (409 window closed or over the limit, 423 名冊 25 locked, 422 a
field) shows the page again, unchanged, with the API's message next to what it concerns.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licheng.web.deps import Api, SchoolSession
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.render import render, roc
from licheng.web.pages.student import page_refusal, require_student, student_term
from licheng.web.sessions import Session

router = APIRouter(prefix="/student/performances", include_in_schema=False)

HOME = "/student/performances"
PAGE_SIZE = 200
FIELD_PREFIX = "field_"
ORIGIN_TEXT = {"self": "學生自填", "imported": "學校匯入"}
PROOF_KINDS = ("pdf", "jpg", "jpeg", "png", "mp3", "mp4")
DONE = {
    "created": "已新增多元表現，可在下方上傳證明文件。",
    "updated": "已儲存修改。",
    "uploaded": "證明文件已上傳。",
    "file_deleted": "證明文件已刪除。",
    "deleted": "已刪除多元表現。",
    "selected": "已儲存勾選。",
}


def _base(school: str) -> str:
    return f"/api/performances/v1/schools/{school}"


def _record_path(school: str, record_id: str) -> str:
    """The API path of a record; anything but a record id is the 404 page."""
    try:
        uuid.UUID(record_id)
    except ValueError:
        raise page_refusal("找不到此多元表現紀錄", "performance_not_found", 404) from None
    return f"{_base(school)}/performances/{record_id}"


async def _all_items(api: GatewayApi, path: str, params: dict[str, Any]) -> list[Any]:
    """Every item of a paginated list (a student's records of a year fit in a page or two)."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        page = await api.get(path, params={**params, "limit": PAGE_SIZE, "cursor": cursor})
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def api_field_errors(exc: ApiRefused) -> dict[str, str]:
    """The fields a 422 names (`fields.end_date`, `brief`), each with the validator's own
    zh-TW sentence when it has one."""
    found: dict[str, str] = {}
    if exc.status != 422 or not isinstance(exc.detail, list):
        return found
    for item in exc.detail:
        if not isinstance(item, Mapping) or not item.get("field"):
            continue
        own = str(item.get("msg") or "")
        message = own if own and not own.isascii() else str(item.get("message") or "")
        found.setdefault(str(item["field"]), message)
    return found


def _shown_value(spec: Mapping[str, Any], value: Any) -> str:
    """A stored field value as the student reads it: code labels, 民國 dates."""
    if value in (None, ""):
        return ""
    choices = {str(c["code"]): str(c["label"]) for c in spec.get("choices") or []}
    if choices:
        return f"{value} {choices.get(str(value), '')}".strip()
    if spec.get("kind") == "date":
        return roc(value)
    return str(value)


def with_display(record: dict[str, Any], categories: Mapping[str, Any]) -> dict[str, Any]:
    """The record plus `display` [(label, text)] of its category's filled fields."""
    category = categories.get(record["category"]) or {"fields": []}
    fields = record.get("fields") or {}
    record["display"] = [
        (spec["label"], _shown_value(spec, fields.get(spec["name"])))
        for spec in category["fields"]
        if fields.get(spec["name"]) not in (None, "")
    ]
    certificate = record.get("certificate")
    if certificate and certificate.get("name"):
        record["display"].append(("證照名稱", str(certificate["name"])))
    record["origin_text"] = ORIGIN_TEXT.get(record.get("origin", ""), "")
    record["editable_fields"] = record.get("origin") == "self"
    return record


def _year_of(request: Request, current: int) -> int:
    raw = request.query_params.get("year", "")
    return int(raw) if raw.isdigit() and 100 <= int(raw) <= 200 else current


async def _categories(api: GatewayApi, school: str) -> dict[str, Any]:
    listed = await api.get(f"{_base(school)}/categories")
    return {str(c["key"]): c for c in listed}


async def _certificates(api: GatewayApi, school: str) -> list[Any]:
    """The school's active 檢定證照 items for the 證照代碼 suggestions (the first page)."""
    page = await api.get(
        f"{_base(school)}/certificates", params={"active": "true", "limit": PAGE_SIZE}
    )
    return list(page["items"])


def _accept(params: Mapping[str, Any]) -> str:
    limits = params.get("file_limits") or {}
    kinds = [k for k in PROOF_KINDS if k in limits or (k == "jpeg" and "jpg" in limits)]
    return ",".join(f".{k}" for k in kinds)


def _limits_text(params: Mapping[str, Any]) -> str:
    limits = params.get("file_limits") or {}
    return "、".join(f"{kind.upper()} ≤ {_mib(size)}" for kind, size in limits.items())


def _mib(size: Any) -> str:
    value = int(size) / (1024 * 1024)
    return f"{value:g} MB" if value >= 1 else f"{int(size) // 1024} KB"


async def _list_page(
    request: Request,
    session: Session,
    api: GatewayApi,
    *,
    year: int | None = None,
    errors: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    chosen: list[str] | None = None,
    category: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The year's records by category, my 校內幹部, the 勾選 form and the add form."""
    school = require_student(session)
    current, _semester = await student_term(api, school)
    year = year or _year_of(request, current)
    base = _base(school)
    categories = await _categories(api, school)
    params = await api.get(f"{base}/parameters/{year}")
    records = await _all_items(api, f"{base}/me/performances", {"academic_year": year})
    cadres = await _all_items(api, f"{base}/me/cadres", {"academic_year": year})
    by_category: dict[str, list[dict[str, Any]]] = {key: [] for key in categories}
    for record in records:
        by_category.setdefault(record["category"], []).append(with_display(record, categories))
    picked = chosen if chosen is not None else [str(r["id"]) for r in records if r["selected"]]
    category = category if category is not None else request.query_params.get("category", "")
    form_category = categories.get(category or "")
    certificates = (
        await _certificates(api, school)
        if form_category and any(f["kind"] == "certificate" for f in form_category["fields"])
        else []
    )
    return render(
        request,
        "student/performances.html",
        {
            "title": "我的多元表現",
            "flash": DONE.get(request.query_params.get("done", "")),
            "year": year,
            "current_year": current,
            "params": params,
            "categories": categories,
            "by_category": by_category,
            "record_count": len(records),
            "cadres": cadres,
            "picked": picked,
            "limit": params.get("selections_per_year", 10),
            "form_category": form_category,
            "certificates": certificates,
            "errors": errors or {},
            "field_errors": field_errors or {},
            "values": values or {},
            "field_prefix": FIELD_PREFIX,
        },
        status_code=status_code,
    )


async def _record_page(
    request: Request,
    session: Session,
    api: GatewayApi,
    record_id: str,
    *,
    errors: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """One of my records: its fields, the edit form, its proof files and upload."""
    school = require_student(session)
    base = _base(school)
    record = await api.get(_record_path(school, record_id))
    categories = await _categories(api, school)
    params = await api.get(f"{base}/parameters/{record['academic_year']}")
    with_display(record, categories)
    category = categories.get(record["category"])
    has_certificate = bool(category) and any(
        f["kind"] == "certificate" for f in (category or {}).get("fields", [])
    )
    return render(
        request,
        "student/performances_record.html",
        {
            "title": f"多元表現：{record['category_title']}",
            "flash": DONE.get(request.query_params.get("done", "")),
            "record": record,
            "category": category,
            "params": params,
            "accept": _accept(params),
            "limits_text": _limits_text(params),
            "certificates": await _certificates(api, school) if has_certificate else [],
            "errors": errors or {},
            "field_errors": field_errors or {},
            "values": values if values is not None else _record_values(record),
            "field_prefix": FIELD_PREFIX,
        },
        status_code=status_code,
    )


def _record_values(record: Mapping[str, Any]) -> dict[str, Any]:
    """The edit form's values: the stored fields, 內容簡述 and link."""
    values: dict[str, Any] = {str(k): v for k, v in (record.get("fields") or {}).items()}
    values.update(brief=record.get("brief") or "", video_url=record.get("video_url") or "")
    return values


def _status_of(exc: ApiRefused) -> int:
    return exc.status if 400 <= exc.status < 600 else 502


async def _posted_fields(request: Request) -> dict[str, str]:
    """The category fields a form sent (`field_<name>`), trimmed."""
    form = await request.form()
    return {
        key.removeprefix(FIELD_PREFIX): str(value).strip()
        for key, value in form.items()
        if key.startswith(FIELD_PREFIX) and isinstance(value, str)
    }


@router.get("", response_class=HTMLResponse)
async def performances_page(request: Request, session: SchoolSession, api: Api) -> HTMLResponse:
    """The year's 多元表現 by category, my 校內幹部 (read-only), 勾選 and the add form."""
    return await _list_page(request, session, api)


@router.post("/new", response_class=HTMLResponse, response_model=None)
async def create_record(
    request: Request,
    session: SchoolSession,
    api: Api,
    category: Annotated[str, Form()],
    academic_year: Annotated[int, Form()],
    brief: Annotated[str, Form()] = "",
    video_url: Annotated[str, Form()] = "",
) -> Response:
    """新增 a record of the chosen category; a refused field is shown beside it."""
    school = require_student(session)
    fields = await _posted_fields(request)
    payload = {
        "academic_year": academic_year,
        "category": category,
        "fields": {name: value or None for name, value in fields.items()},
        "brief": brief.strip(),
        "video_url": video_url.strip() or None,
    }
    try:
        created = await api.post(f"{_base(school)}/performances", json=payload)
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        return await _list_page(
            request,
            session,
            api,
            year=academic_year,
            errors={"new": exc.message},
            field_errors=api_field_errors(exc),
            values={**fields, "brief": brief, "video_url": video_url},
            category=category,
            status_code=_status_of(exc),
        )
    return RedirectResponse(f"{HOME}/{created['id']}?done=created", status_code=303)


@router.post("/selections", response_class=HTMLResponse, response_model=None)
async def select_records(
    request: Request,
    session: SchoolSession,
    api: Api,
    academic_year: Annotated[int, Form()],
) -> Response:
    """勾選: replace the year's selection with the records ticked (up to the year's limit)."""
    school = require_student(session)
    form = await request.form()
    chosen = [str(v) for v in form.getlist("performance_ids")]
    payload = {"academic_year": academic_year, "performance_ids": chosen}
    try:
        await api.put(f"{_base(school)}/me/selections", json=payload)
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        return await _list_page(
            request,
            session,
            api,
            year=academic_year,
            errors={"select": exc.message},
            chosen=chosen,
            status_code=_status_of(exc),
        )
    return RedirectResponse(f"{HOME}?year={academic_year}&done=selected#select", status_code=303)


@router.get("/{record_id}", response_class=HTMLResponse)
async def record_page(
    request: Request, session: SchoolSession, api: Api, record_id: str
) -> HTMLResponse:
    """One record: fields, edit form, proof files (another student's record is the 404 page)."""
    return await _record_page(request, session, api, record_id)


async def _refused_on_record(
    request: Request,
    session: Session,
    api: GatewayApi,
    record_id: str,
    key: str,
    exc: ApiRefused,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The record's page again, nothing changed, with the API's refusal beside form `key`."""
    if exc.status in (401, 403, 404):
        raise exc
    return await _record_page(
        request,
        session,
        api,
        record_id,
        errors={key: exc.message},
        field_errors=api_field_errors(exc),
        values=values,
        status_code=_status_of(exc),
    )


@router.post("/{record_id}/edit", response_class=HTMLResponse, response_model=None)
async def edit_record(
    request: Request,
    session: SchoolSession,
    api: Api,
    record_id: str,
    brief: Annotated[str, Form()] = "",
    video_url: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    """修改 a record (a school-imported one: only 內容簡述 and the link); a stale page is 409."""
    school = require_student(session)
    fields = await _posted_fields(request)
    payload: dict[str, Any] = {"brief": brief.strip(), "video_url": video_url.strip() or None}
    if fields:
        payload["fields"] = {name: value or None for name, value in fields.items()}
    headers = {"if-match": version} if version.isdigit() else {}
    try:
        await api.patch(_record_path(school, record_id), json=payload, headers=headers)
    except ApiRefused as exc:
        values = {**fields, "brief": brief, "video_url": video_url}
        return await _refused_on_record(request, session, api, record_id, "edit", exc, values)
    return RedirectResponse(f"{HOME}/{record_id}?done=updated", status_code=303)


@router.post("/{record_id}/delete", response_class=HTMLResponse, response_model=None)
async def delete_record(
    request: Request, session: SchoolSession, api: Api, record_id: str
) -> Response:
    """刪除 a self-filled record."""
    school = require_student(session)
    try:
        await api.delete(_record_path(school, record_id))
    except ApiRefused as exc:
        return await _refused_on_record(request, session, api, record_id, "delete", exc)
    return RedirectResponse(f"{HOME}?done=deleted", status_code=303)


@router.post("/{record_id}/files", response_class=HTMLResponse, response_model=None)
async def upload_file(
    request: Request,
    session: SchoolSession,
    api: Api,
    record_id: str,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """上傳 one proof file (pdf/jpg/png or mp3/mp4, up to the year's files per record)."""
    school = require_student(session)
    name = (file.filename or "") if file is not None else ""
    if file is None or not name:
        errors = {"upload": "請選擇要上傳的證明文件"}
        return await _record_page(request, session, api, record_id, errors=errors, status_code=422)
    if PurePath(name).suffix.lower().lstrip(".") not in PROOF_KINDS:
        errors = {"upload": "僅接受 PDF、JPG、PNG 文件或 MP3、MP4 影音檔"}
        return await _record_page(request, session, api, record_id, errors=errors, status_code=415)
    content_type = file.content_type or "application/octet-stream"
    try:
        await api.post(
            f"{_record_path(school, record_id)}/files",
            files={"file": (name, await file.read(), content_type)},
        )
    except ApiRefused as exc:
        return await _refused_on_record(request, session, api, record_id, "upload", exc)
    return RedirectResponse(f"{HOME}/{record_id}?done=uploaded#files", status_code=303)


@router.post(
    "/{record_id}/files/{file_id}/delete", response_class=HTMLResponse, response_model=None
)
async def delete_file(
    request: Request, session: SchoolSession, api: Api, record_id: str, file_id: str
) -> Response:
    """刪除 one proof file."""
    school = require_student(session)
    try:
        await api.delete(f"{_record_path(school, record_id)}/files/{file_id}")
    except ApiRefused as exc:
        return await _refused_on_record(request, session, api, record_id, "upload", exc)
    return RedirectResponse(f"{HOME}/{record_id}?done=file_deleted#files", status_code=303)


@router.get("/{record_id}/files/{file_id}")
async def download_file(
    session: SchoolSession, api: Api, record_id: str, file_id: str
) -> RedirectResponse:
    """My proof file: the API's five-minute download link."""
    school = require_student(session)
    link = await api.get(f"{_record_path(school, record_id)}/files/{file_id}")
    return RedirectResponse(str(link["url"]), status_code=303)
