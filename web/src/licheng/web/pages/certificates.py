"""證照項目管理者: the school's 檢定證照 catalog — search, add, deactivate and reactivate (items are
never deleted), and the import of the whole catalog from Excel with every refused row shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licheng.web.deps import Api
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.courses import (
    field_errors,
    passthrough,
    role_required,
    row_errors,
    upload_of,
)
from licheng.web.pages.homeroom_performances import performances_api
from licheng.web.pages.render import render
from licheng.web.sessions import Session

router = APIRouter(prefix="/certificates", include_in_schema=False)

CertificateManagerSession = Annotated[
    Session, Depends(role_required("certificate_manager", "admin"))
]
PAGE_SIZE = 50
NEW_FIELDS = ("code", "name", "category", "issuer", "domestic")
ACTIVE_CHOICES = {"": "全部", "true": "啟用中", "false": "已停用"}
IMPORT_COUNTS = (
    ("created", "新增"),
    ("updated", "更新"),
    ("deactivated", "停用"),
    ("unchanged", "未變更"),
)
FLASHES = {
    "added": "已新增檢定證照項目",
    "deactivated": "已停用檢定證照項目（學生無法再選用，已填寫的紀錄不受影響）",
    "reactivated": "已重新啟用檢定證照項目",
}


def _search(request: Request) -> dict[str, str]:
    """The list's search from the query string."""
    search: dict[str, str] = {}
    q = request.query_params.get("q", "").strip()
    if q:
        search["q"] = q[:100]
    active = request.query_params.get("active", "")
    if active in ("true", "false"):
        search["active"] = active
    return search


async def _catalog_page(
    request: Request,
    session: Session,
    api: GatewayApi,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    rows: list[dict[str, Any]] | None = None,
    import_error: str | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The catalog (searched, one page), the add form and the import form."""
    search = _search(request)
    params: dict[str, Any] = {**search, "limit": PAGE_SIZE}
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor[:200]
    page = await api.get(f"{performances_api(session)}/certificates", params=params)
    here = "/certificates?" + urlencode(search) if search else "/certificates"
    return render(request, "certificates/index.html", {
        "title": "檢定證照項目", "page": page, "search": search, "choices": ACTIVE_CHOICES,
        "next_url": ("/certificates?" + urlencode({**search, "cursor": page["next_cursor"]})
                     if page.get("next_cursor") else None),
        "first_url": here if cursor else None, "back": here,
        "values": values or {"domestic": "true"}, "errors": errors or {}, "error": error,
        "rows": rows or [], "import_error": import_error, "flash": flash,
    }, status_code=status_code)  # fmt: skip


def _back(request: Request, fallback: str = "/certificates") -> str:
    """Where a form returns to: its own page of the catalog (a local path only)."""
    form_back = request.query_params.get("back", "")
    return form_back if form_back.startswith("/certificates") else fallback


@router.get("", response_class=HTMLResponse)
async def catalog(request: Request, session: CertificateManagerSession, api: Api) -> HTMLResponse:
    """The catalog, searchable by code or name and by state."""
    flash = FLASHES.get(request.query_params.get("done", ""))
    if request.query_params.get("done") == "imported":
        counts = [f"{label} {request.query_params.get(key, '0')[:7]} 項"
                  for key, label in IMPORT_COUNTS]  # fmt: skip
        flash = "檢定證照清單已匯入：" + "、".join(counts)
    return await _catalog_page(request, session, api, flash=flash)


@router.post("", response_class=HTMLResponse, response_model=None)
async def add_certificate(
    request: Request, session: CertificateManagerSession, api: Api
) -> Response:
    """Add an item; a refused field is shown beside it and nothing is added."""
    form = await request.form()
    values = {name: str(form.get(name, "")).strip() for name in NEW_FIELDS}
    payload = {
        "code": values["code"],
        "name": values["name"],
        "category": values["category"] or None,
        "issuer": values["issuer"] or None,
        "domestic": values["domestic"] != "false",
    }
    try:
        await api.post(f"{performances_api(session)}/certificates", json=payload)
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        errors = field_errors(exc)
        if exc.code == "certificate_exists":
            errors["code"] = exc.message
        return await _catalog_page(request, session, api, values=values, errors=errors,
                                   error=exc.message, status_code=exc.status)  # fmt: skip
    return RedirectResponse("/certificates?done=added", status_code=303)


async def _set_active(
    request: Request, session: Session, api: GatewayApi, code: str, *, active: bool
) -> Response:
    path = f"{performances_api(session)}/certificates/{quote(code, safe='')}"
    await api.patch(path, json={"active": active})
    back = _back(request)
    joiner = "&" if "?" in back else "?"
    done = "reactivated" if active else "deactivated"
    return RedirectResponse(f"{back}{joiner}done={done}", status_code=303)


@router.post("/{code}/deactivate", response_model=None)
async def deactivate(
    code: str, request: Request, session: CertificateManagerSession, api: Api
) -> Response:
    """Deactivate an item: students can no longer choose it; records that name it keep it."""
    return await _set_active(request, session, api, code, active=False)


@router.post("/{code}/reactivate", response_model=None)
async def reactivate(
    code: str, request: Request, session: CertificateManagerSession, api: Api
) -> Response:
    """Make a deactivated item choosable again."""
    return await _set_active(request, session, api, code, active=True)


@router.post("/imports", response_class=HTMLResponse, response_model=None)
async def import_catalog(
    request: Request, session: CertificateManagerSession, api: Api
) -> Response:
    """Import the whole catalog; every refused row is listed and nothing changes."""
    upload = await upload_of(request)
    if upload is None:
        return await _catalog_page(request, session, api, import_error="請選擇要匯入的檔案",
                                   status_code=422)  # fmt: skip
    try:
        summary = await api.post(
            f"{performances_api(session)}/certificates/imports", files={"file": upload}
        )
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        return await _catalog_page(request, session, api, rows=row_errors(exc),
                                   import_error=exc.message, status_code=exc.status)  # fmt: skip
    counts = {key: int(summary.get(key, 0)) for key, _ in IMPORT_COUNTS}
    return RedirectResponse("/certificates?" + urlencode({"done": "imported", **counts}),
                            status_code=303)  # fmt: skip


@router.get("/template", response_model=None)
async def template(session: CertificateManagerSession, api: Api) -> Response:
    """The API's catalog template (xlsx)."""
    response = await api.call("GET", f"{performances_api(session)}/certificates/template")
    return passthrough(response, "certificates.xlsx")
