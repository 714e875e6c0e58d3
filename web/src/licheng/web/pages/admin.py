"""系統管理者's pages: 人員與班級匯入, 權限設定, 公告管理 and 稽核紀錄."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licheng.contracts.permissions import ROLE_TITLES, Role
from licheng.web.deps import Api
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.courses import (
    TAIPEI,
    field_errors,
    int_arg,
    passthrough,
    refusal,
    role_required,
    row_errors,
    upload_of,
)
from licheng.web.pages.parameter_form import aware_from_input
from licheng.web.pages.render import render
from licheng.web.sessions import Session

router = APIRouter(include_in_schema=False)

AdminSession = Annotated[Session, Depends(role_required("admin"))]


def identity_api(session: Session) -> str:
    """Identity's prefix for the chosen school."""
    return f"/api/identity/v1/schools/{session.school_code}"


async def all_items(api: GatewayApi, path: str, *, pages: int = 20) -> list[dict[str, Any]]:
    """Every item of a paginated list (200 at a time, at most `pages` pages)."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(pages):
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = await api.get(path, params=params)
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return items


# --- 人員與班級匯入 --------------------------------------------------------------------------

IMPORT_KINDS = {
    "staff": ("教職員", "教師編號、姓名、email"),
    "classes": ("班級", "班級代碼、年級、班級名稱、導師（教師編號）"),
    "students": ("學生", "學號、姓名、班級、座號、身分證號、出生日期、在籍狀態"),
}
IMPORT_COUNTS = (("total", "資料列"), ("created", "新增"), ("updated", "更新"),
                 ("unchanged", "未變更"))  # fmt: skip


def _imports_page(
    request: Request,
    *,
    kind: str | None = None,
    rows: list[dict[str, Any]] | None = None,
    error: str | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin/imports.html",
        {"title": "人員與班級匯入", "kinds": IMPORT_KINDS, "kind": kind, "rows": rows or [],
         "error": error, "flash": flash,
         "rows_caption": f"{IMPORT_KINDS[kind][0]}檔案中有問題的資料列" if kind else None},
        status_code=status_code,
    )  # fmt: skip


@router.get("/admin/imports", response_class=HTMLResponse)
async def imports_page(request: Request, session: AdminSession) -> HTMLResponse:
    """Three upload forms (教職員, 班級, 學生); after an import, its counts."""
    kind = request.query_params.get("done")
    flash = None
    if kind in IMPORT_KINDS:
        parts = [f"{label} {int_arg(request, n, 0, 10**7) or 0} 筆" for n, label in IMPORT_COUNTS]
        flash = f"{IMPORT_KINDS[kind][0]}資料已匯入：" + "、".join(parts)
    return _imports_page(request, flash=flash)


@router.post("/admin/imports/{kind}", response_class=HTMLResponse, response_model=None)
async def import_people(kind: str, request: Request, session: AdminSession, api: Api) -> Response:
    """Send the file to identity; every refused row is shown in a table, nothing is written."""
    if kind not in IMPORT_KINDS:
        raise refusal(404, "not_found", "找不到指定的匯入種類")
    upload = await upload_of(request)
    if upload is None:
        return _imports_page(request, kind=kind, error="請選擇要匯入的檔案", status_code=422)
    try:
        summary = await api.post(f"{identity_api(session)}/imports/{kind}", files={"file": upload})
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        return _imports_page(request, kind=kind, rows=row_errors(exc),
                             error=f"{IMPORT_KINDS[kind][0]}：{exc.message}",
                             status_code=exc.status)  # fmt: skip
    counts = {name: int(summary.get(name, 0)) for name, _ in IMPORT_COUNTS}
    return RedirectResponse(
        "/admin/imports?" + urlencode({"done": kind, **counts}), status_code=303
    )


@router.get("/admin/imports/{kind}/template", response_model=None)
async def import_template(kind: str, session: AdminSession, api: Api) -> Response:
    """Identity's template for one kind (xlsx)."""
    if kind not in IMPORT_KINDS:
        raise refusal(404, "not_found", "找不到指定的匯入種類")
    response = await api.call("GET", f"{identity_api(session)}/imports/{kind}/template")
    return passthrough(response, f"{kind}-template.xlsx")


# --- 權限設定 --------------------------------------------------------------------------------

# Roles an admin grants by hand (學生 and 導師 follow from enrolment and classes).
GRANTABLE = tuple(r for r in Role if r not in (Role.STUDENT, Role.HOMEROOM_TEACHER))
GRANT_DONE = {"granted": "已授予角色", "revoked": "已撤銷角色"}


async def _grants_page(
    request: Request,
    session: Session,
    api: GatewayApi,
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    chosen: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    staff = await all_items(api, f"{identity_api(session)}/staff")
    grants = await all_items(api, f"{identity_api(session)}/grants")
    people = {p["id"]: p for p in staff}
    rows = sorted(
        ({**g, "person": people.get(g["person_id"])} for g in grants),
        key=lambda g: ((g["person"] or {}).get("local_no", ""), g["role"]),
    )
    flash = GRANT_DONE.get(request.query_params.get("done", ""))
    return render(
        request,
        "admin/grants.html",
        {"title": "權限設定", "grants": rows, "staff": staff, "errors": errors or {},
         "error": error, "flash": flash, "chosen": chosen or {},
         "roles": [(r.value, ROLE_TITLES[r]) for r in GRANTABLE]},
        status_code=status_code,
    )  # fmt: skip


@router.get("/admin/grants", response_class=HTMLResponse)
async def grants_page(request: Request, session: AdminSession, api: Api) -> HTMLResponse:
    """Every explicit grant, with a form to grant a role and a button to revoke each."""
    return await _grants_page(request, session, api)


async def _change_grant(
    request: Request, session: Session, api: GatewayApi, *, revoke: bool
) -> Response:
    form = await request.form()
    person_id = str(form.get("person_id", "")).strip()
    role = str(form.get("role", "")).strip()
    chosen = {"person_id": person_id, "role": role}
    errors = {}
    if not person_id:
        errors["person_id"] = "請選擇教職員"
    if role not in {r.value for r in GRANTABLE}:
        errors["role"] = "請選擇角色"
    if errors:
        return await _grants_page(request, session, api, errors=errors, chosen=chosen,
                                  error="請修正標示的欄位", status_code=422)  # fmt: skip
    path = f"{identity_api(session)}/staff/{person_id}/roles/{role}"
    try:
        await (api.delete(path) if revoke else api.put(path))
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        errors = field_errors(exc)
        if exc.status == 404:
            errors["person_id"] = exc.message
        return await _grants_page(request, session, api, errors=errors, error=exc.message,
                                  chosen=chosen, status_code=exc.status)  # fmt: skip
    done = "revoked" if revoke else "granted"
    return RedirectResponse(f"/admin/grants?done={done}", status_code=303)


@router.post("/admin/grants", response_class=HTMLResponse, response_model=None)
async def grant_role(request: Request, session: AdminSession, api: Api) -> Response:
    """Grant the chosen role to the chosen staff member."""
    return await _change_grant(request, session, api, revoke=False)


@router.post("/admin/grants/revoke", response_class=HTMLResponse, response_model=None)
async def revoke_role(request: Request, session: AdminSession, api: Api) -> Response:
    """Revoke one grant."""
    return await _change_grant(request, session, api, revoke=True)


# --- 公告管理 --------------------------------------------------------------------------------

AUDIENCES = (("all", "全校"), ("students", "學生"), ("staff", "教職員"))
ANNOUNCEMENT_DONE = {"created": "公告已新增", "deleted": "公告已刪除"}


def _announcement_state(item: dict[str, Any], now: datetime) -> str:
    start = datetime.fromisoformat(str(item["publish_from"]).replace("Z", "+00:00"))
    end_text = item.get("publish_until")
    end = datetime.fromisoformat(str(end_text).replace("Z", "+00:00")) if end_text else None
    if start > now:
        return "已排程"
    if end is not None and end <= now:
        return "已下架"
    return "公告中"


async def _announcements_page(
    request: Request,
    session: Session,
    api: GatewayApi,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    params: dict[str, Any] = {"include_scheduled": "true", "limit": 50}
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor
    page = await api.get(f"{identity_api(session)}/announcements", params=params)
    now = datetime.now(UTC)
    items = [{**i, "state": _announcement_state(i, now)} for i in page["items"]]
    return render(
        request,
        "admin/announcements.html",
        {"title": "公告管理", "items": items, "total": page["total"],
         "next_url": "/admin/announcements?" + urlencode({"cursor": page["next_cursor"]})
         if page.get("next_cursor") else None, "first_url": "/admin/announcements" if cursor
         else None, "values": values or {"audience": "all"}, "errors": errors or {},
         "error": error, "audiences": AUDIENCES,
         "flash": ANNOUNCEMENT_DONE.get(request.query_params.get("done", ""))},
        status_code=status_code,
    )  # fmt: skip


@router.get("/admin/announcements", response_class=HTMLResponse)
async def announcements_page(request: Request, session: AdminSession, api: Api) -> HTMLResponse:
    """Every announcement (scheduled and expired too), and a form to post one."""
    return await _announcements_page(request, session, api)


@router.post("/admin/announcements", response_class=HTMLResponse, response_model=None)
async def create_announcement(request: Request, session: AdminSession, api: Api) -> Response:
    """Post an announcement (now or scheduled); refusals are shown by their fields."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    errors: dict[str, str] = {}
    payload: dict[str, Any] = {
        "title": values.get("title", "").strip(),
        "body": values.get("body", "").strip(),
        "audience": values.get("audience", "all"),
    }
    if not payload["title"]:
        errors["title"] = "請輸入標題"
    if not payload["body"]:
        errors["body"] = "請輸入內容"
    for name in ("publish_from", "publish_until"):
        try:
            moment = aware_from_input(values.get(name, ""))
        except ValueError:
            errors[name] = "請輸入正確的日期與時間"
            continue
        if moment is not None:
            payload[name] = moment
    if errors:
        return await _announcements_page(request, session, api, values=values, errors=errors,
                                         error="請修正標示的欄位", status_code=422)  # fmt: skip
    try:
        await api.post(
            f"{identity_api(session)}/announcements",
            content=json.dumps(payload).encode(),
            headers={"content-type": "application/json"},
        )
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        errors = field_errors(exc)
        if exc.status == 422 and not errors:
            errors["publish_until"] = exc.message
        return await _announcements_page(request, session, api, values=values, errors=errors,
                                         error=exc.message, status_code=exc.status)  # fmt: skip
    return RedirectResponse("/admin/announcements?done=created", status_code=303)


@router.post(
    "/admin/announcements/{item_id}/delete", response_class=HTMLResponse, response_model=None
)
async def delete_announcement(
    item_id: str, request: Request, session: AdminSession, api: Api
) -> Response:
    """Delete one announcement."""
    try:
        await api.delete(f"{identity_api(session)}/announcements/{item_id}")
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        return await _announcements_page(request, session, api, error=exc.message,
                                         status_code=exc.status)  # fmt: skip
    return RedirectResponse("/admin/announcements?done=deleted", status_code=303)


# --- 稽核紀錄 --------------------------------------------------------------------------------

AUDIT_SOURCES = {
    "identity": ("人員、權限與公告", "/api/identity/v1"),
    "course-outcomes": ("課程學習成果", "/api/course-outcomes/v1"),
    "performances": ("多元表現", "/api/performances/v1"),
    "guidance": ("課程諮詢", "/api/guidance/v1"),
}
AUDIT_TEXT_FILTERS = ("person_id", "action", "entity", "entity_id")
AUDIT_FIELDS = {"person_id": "person_id", "action": "action", "entity": "entity",
                "entity_id": "entity_id", "since": "since", "until": "until"}  # fmt: skip


def _day_start(text: str, *, next_day: bool = False) -> str | None:
    """A `date` input as the start of that day (or the next) in Taiwan time, ISO with offset."""
    day = date.fromisoformat(text)
    if next_day:
        day += timedelta(days=1)
    return datetime.combine(day, time(0, 0), tzinfo=TAIPEI).isoformat()


@router.get("/admin/audit", response_class=HTMLResponse)
async def audit_page(request: Request, session: AdminSession, api: Api) -> HTMLResponse:
    """One service's audit log with filters (person, action, entity, dates), newest first."""
    source = request.query_params.get("source", "identity")
    if source not in AUDIT_SOURCES:
        source = "identity"
    filters = {name: request.query_params.get(name, "").strip()[:100]
               for name in (*AUDIT_TEXT_FILTERS, "since", "until")}  # fmt: skip
    params: dict[str, Any] = {k: filters[k] for k in AUDIT_TEXT_FILTERS if filters[k]}
    errors: dict[str, str] = {}
    for name in ("since", "until"):
        if filters[name]:
            try:
                params[name] = _day_start(filters[name], next_day=name == "until")
            except ValueError:
                errors[name] = "請輸入正確的日期"
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor
    params["limit"] = 50
    page: dict[str, Any] = {"items": [], "total": 0, "next_cursor": None}
    error = "請修正標示的欄位" if errors else None
    status_code = 422 if errors else 200
    if not errors:
        path = f"{AUDIT_SOURCES[source][1]}/schools/{session.school_code}/audit"
        try:
            page = await api.get(path, params=params)
        except ApiRefused as exc:
            if exc.status in (401, 403):
                raise
            errors = field_errors(exc, AUDIT_FIELDS)
            error, status_code = exc.message, exc.status
    staff = {p["id"]: p for p in await all_items(api, f"{identity_api(session)}/staff")}
    items = [
        {**row, "actor": staff.get(str(row.get("actor_id"))),
         "changes": json.dumps({"before": row.get("before"), "after": row.get("after")},
                               ensure_ascii=False, indent=1)}
        for row in page["items"]
    ]  # fmt: skip
    base = {"source": source, **{k: v for k, v in filters.items() if v}}
    return render(
        request,
        "admin/audit.html",
        {"title": "稽核紀錄", "items": items, "total": page["total"], "filters": filters,
         "source": source, "sources": AUDIT_SOURCES, "errors": errors, "error": error,
         "next_url": "/admin/audit?" + urlencode({**base, "cursor": page["next_cursor"]})
         if page.get("next_cursor") else None,
         "first_url": "/admin/audit?" + urlencode(base) if cursor else None},
        status_code=status_code,
    )  # fmt: skip
