"""多元項目管理者: the batch workbook import of 多元表現 records (one sheet per category) and its
template; every problem the API finds is listed by sheet, row and column, nothing is written."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licheng.web.deps import Api
from licheng.web.gateway import ApiRefused
from licheng.web.pages.courses import int_arg, passthrough, role_required, row_errors, upload_of
from licheng.web.pages.homeroom_performances import category_titles, performances_api
from licheng.web.pages.render import render
from licheng.web.sessions import Session

router = APIRouter(prefix="/performance-items", include_in_schema=False)

ItemManagerSession = Annotated[Session, Depends(role_required("performance_item_manager", "admin"))]


def _imports_page(
    request: Request,
    *,
    summary: list[dict[str, Any]] | None = None,
    totals: dict[str, int] | None = None,
    rows: list[dict[str, Any]] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(request, "performance_items/imports.html", {
        "title": "多元表現批次匯入", "summary": summary, "totals": totals, "rows": rows or [],
        "error": error,
        "flash": (f"匯入完成：新增 {totals['created']} 筆，未變更 {totals['unchanged']} 筆"
                  if totals is not None else None),
    }, status_code=status_code)  # fmt: skip


@router.get("/imports", response_class=HTMLResponse)
async def imports_page(request: Request, session: ItemManagerSession, api: Api) -> HTMLResponse:
    """The upload form and the template link; after an import, its counts per category."""
    if not request.query_params.get("done"):
        return _imports_page(request)
    titles = await category_titles(api, session)
    summary = [
        {"title": title, "created": int_arg(request, f"{key}.created", 0, 10**7) or 0,
         "unchanged": int_arg(request, f"{key}.unchanged", 0, 10**7) or 0}
        for key, title in titles.items() if f"{key}.created" in request.query_params
    ]  # fmt: skip
    totals = {name: int_arg(request, name, 0, 10**7) or 0 for name in ("created", "unchanged")}
    return _imports_page(request, summary=summary, totals=totals)


@router.post("/imports", response_class=HTMLResponse, response_model=None)
async def import_workbook(request: Request, session: ItemManagerSession, api: Api) -> Response:
    """Send the workbook to the API: its counts per category, or every refused row."""
    upload = await upload_of(request)
    if upload is None:
        return _imports_page(request, error="請選擇要匯入的檔案", status_code=422)
    try:
        result = await api.post(f"{performances_api(session)}/imports", files={"file": upload})
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        return _imports_page(request, rows=row_errors(exc), error=exc.message,
                             status_code=exc.status)  # fmt: skip
    counts: dict[str, int] = {
        "created": int(result.get("created", 0)),
        "unchanged": int(result.get("unchanged", 0)),
    }
    for key, numbers in (result.get("by_category") or {}).items():
        counts[f"{key}.created"] = int(numbers.get("created", 0))
        counts[f"{key}.unchanged"] = int(numbers.get("unchanged", 0))
    return RedirectResponse(
        "/performance-items/imports?" + urlencode({"done": 1, **counts}), status_code=303
    )


@router.get("/imports/template", response_model=None)
async def template(session: ItemManagerSession, api: Api) -> Response:
    """The API's workbook template (a 說明 sheet, then one sheet per category)."""
    response = await api.call("GET", f"{performances_api(session)}/imports/template")
    return passthrough(response, "performances-template.xlsx")
