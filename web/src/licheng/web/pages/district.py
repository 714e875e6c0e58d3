"""教育局（處）管理者's page: the district's schools, and creating one with its first admin."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licheng.web.deps import Api, CurrentSession
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.courses import field_errors, forbidden
from licheng.web.pages.render import render
from licheng.web.sessions import Session

router = APIRouter(include_in_schema=False)
SCHOOLS = "/api/identity/v1/schools"
# The API's field names (nested admin fields) → the form's ids.
FIELDS = {"admin.staff_no": "admin_staff_no", "admin.name": "admin_name",
          "admin.email": "admin_email"}  # fmt: skip


async def district_session(session: CurrentSession) -> Session:
    """The session of a district operator; anyone else gets the 403 page."""
    if not session.district_operator:
        raise forbidden()
    return session


OperatorSession = Annotated[Session, Depends(district_session)]


async def _schools_page(
    request: Request,
    api: GatewayApi,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    params: dict[str, Any] = {"limit": 100}
    cursor = request.query_params.get("cursor")
    if cursor:
        params["cursor"] = cursor
    page = await api.get(SCHOOLS, params=params)
    flash = None
    created, username = request.query_params.get("created"), request.query_params.get("admin")
    if created and username:
        flash = f"學校 {created[:6]} 已建立，第一位系統管理者的登入帳號為 {username[:60]}"
    return render(
        request,
        "district/schools.html",
        {"title": "學校管理", "schools": page["items"], "total": page["total"],
         "next_url": f"/district/schools?{urlencode({'cursor': page['next_cursor']})}"
         if page.get("next_cursor") else None,
         "first_url": "/district/schools" if cursor else None,
         "values": values or {"semester": "1"}, "errors": errors or {}, "error": error,
         "flash": flash},
        status_code=status_code,
    )  # fmt: skip


@router.get("/district/schools", response_class=HTMLResponse)
async def schools_page(request: Request, session: OperatorSession, api: Api) -> HTMLResponse:
    """Every school of the district, and the form to create one."""
    return await _schools_page(request, api)


@router.post("/district/schools", response_class=HTMLResponse, response_model=None)
async def create_school(request: Request, session: OperatorSession, api: Api) -> Response:
    """Create the school and appoint its first 系統管理者; refusals shown by their fields."""
    form = await request.form()
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    errors: dict[str, str] = {}
    labels = {"code": "學校代碼", "name": "學校名稱", "academic_year": "學年度",
              "semester": "學期", "admin_staff_no": "教師編號", "admin_name": "姓名"}  # fmt: skip
    for name, label in labels.items():
        if not values.get(name):
            errors[name] = f"請輸入{label}"
    for name in ("academic_year", "semester"):
        if values.get(name) and not values[name].isdigit():
            errors[name] = "須為整數"
    if errors:
        return await _schools_page(request, api, values=values, errors=errors,
                                   error="請修正標示的欄位", status_code=422)  # fmt: skip
    admin: dict[str, Any] = {"staff_no": values["admin_staff_no"], "name": values["admin_name"]}
    if values.get("admin_email"):
        admin["email"] = values["admin_email"]
    payload = {"code": values["code"], "name": values["name"],
               "academic_year": int(values["academic_year"]),
               "semester": int(values["semester"]), "admin": admin}  # fmt: skip
    try:
        created = await api.post(
            SCHOOLS, content=json.dumps(payload).encode(),
            headers={"content-type": "application/json"},
        )  # fmt: skip
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        errors = field_errors(exc, FIELDS)
        if exc.code == "school_exists":
            errors["code"] = exc.message
        return await _schools_page(request, api, values=values, errors=errors,
                                   error=exc.message, status_code=exc.status)  # fmt: skip
    query = urlencode({"created": created["code"], "admin": created["admin_username"]})
    return RedirectResponse(f"/district/schools?{query}", status_code=303)
