"""學生 pages: my course outcomes (新增、修改、上傳、送審、刪除、勾選) and 學生資料維護.

Every action is its own POST route that calls the course-outcomes or identity API as the
signed-in student and redirects back (PRG); a refusal (409 window closed or quota, 423 term
locked, 422) re-renders the page with the API's message next to the form it concerns.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePath
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licheng.web.deps import Api, SchoolSession
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.render import render
from licheng.web.sessions import Session

router = APIRouter(prefix="/student", include_in_schema=False)

OUTCOMES = "/student/outcomes"
PROFILE = "/student/profile"
OUTCOME_TYPES = ("實作作品", "書面報告", "其他")
STATUS_TEXT = {
    "draft": "草稿（未送審）",
    "submitted": "認證中",
    "certified": "已認證",
    "failed": "未通過",
}
EDITABLE = frozenset({"draft", "failed"})
FAIL_REASONS = {
    "01": "非本課程相關主題成果，無法認證",
    "02": "無法查證成果可信度",
    "03": "請加強成果內容正確性",
    "04": "請增加成果內容豐富度",
}
SLOT_OF_SUFFIX = {
    "pdf": "document",
    "jpg": "document",
    "jpeg": "document",
    "png": "document",
    "mp3": "media",
    "mp4": "media",
}
SLOT_KINDS = {"document": ("pdf", "jpg", "png"), "media": ("mp3", "mp4")}
DONE = {
    "created": "已新增課程學習成果。",
    "updated": "已儲存修改。",
    "uploaded": "檔案已上傳。",
    "file_deleted": "檔案已刪除。",
    "submitted": "已送審，請等待授課教師認證。",
    "deleted": "已刪除課程學習成果。",
    "selected": "已儲存勾選。",
    "profile": "已更新聯絡資料。",
}
PROFILE_FIELDS = ("email", "phone", "address")


def page_refusal(message: str, code: str = "student_only", status: int = 403) -> ApiRefused:
    """A refusal shown as the portal's error page (the same page an API refusal gets)."""
    return ApiRefused(httpx.Response(status, json={"error": code, "message": message}))


def require_student(session: Session) -> str:
    """The school code, if the person is a student there; else the 403 page."""
    if "student" not in session.roles():
        raise page_refusal("此頁面僅供學生使用，您目前的角色無法開啟。")
    assert session.school_code is not None
    return session.school_code


def _courses_path(school: str) -> str:
    return f"/api/course-outcomes/v1/schools/{school}"


def _identity_path(school: str) -> str:
    return f"/api/identity/v1/schools/{school}"


async def student_term(api: GatewayApi, school: str) -> tuple[int, int]:
    """The school's current 學年度 and 學期 (identity)."""
    data = await api.get(_identity_path(school))
    return int(data["academic_year"]), int(data["semester"])


def _field_errors(exc: ApiRefused) -> dict[str, str]:
    """The fields a 422 names, each with its zh-TW message."""
    found: dict[str, str] = {}
    if isinstance(exc.detail, list):
        for item in exc.detail:
            if isinstance(item, Mapping) and item.get("field"):
                field = str(item["field"]).split(".")[-1]
                found.setdefault(field, str(item.get("message") or item.get("msg") or ""))
    return found


def _mib(size: Any) -> str:
    value = int(size) / (1024 * 1024)
    return f"{value:g} MB" if value >= 1 else f"{int(size) // 1024} KB"


async def _outcomes_page(
    request: Request,
    session: Session,
    api: GatewayApi,
    *,
    errors: dict[str, str] | None = None,
    field_errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, Any]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The whole outcomes page, optionally with one form's refusal shown next to it."""
    school = require_student(session)
    year, semester = await student_term(api, school)
    base = _courses_path(school)
    term = {"academic_year": year, "semester": semester}
    courses = await api.get(f"{base}/me/courses", params=term)
    outcomes = await api.get(f"{base}/me/outcomes", params=term)
    params = await api.get(f"{base}/parameters/{year}/{semester}")
    by_enrolment: dict[str, list[dict[str, Any]]] = {}
    for outcome in outcomes:
        outcome["status_text"] = STATUS_TEXT.get(outcome["status"], outcome["status"])
        outcome["editable"] = outcome["status"] in EDITABLE
        outcome["reason_text"] = FAIL_REASONS.get(outcome.get("fail_reason") or "", "")
        by_enrolment.setdefault(str(outcome["enrolment_id"]), []).append(outcome)
    limits = params.get("file_limits") or {}
    slots = {
        slot: [(kind, _mib(limits[kind])) for kind in kinds if kind in limits]
        for slot, kinds in SLOT_KINDS.items()
    }
    accept = ",".join(f".{kind}" for kind in limits) + (",.jpeg" if "jpg" in limits else "")
    certified = [o for o in outcomes if o["status"] == "certified"]
    done = request.query_params.get("done", "")
    return render(
        request,
        "student/outcomes.html",
        {
            "title": "我的課程學習成果",
            "flash": DONE.get(done),
            "year": year,
            "semester": semester,
            "courses": courses,
            "by_enrolment": by_enrolment,
            "outcome_count": len(outcomes),
            "params": params,
            "slots": slots,
            "accept": accept,
            "certified": certified,
            "limit": params.get("selections_per_semester", 3),
            "outcome_types": OUTCOME_TYPES,
            "errors": errors or {},
            "field_errors": field_errors or {},
            "values": values or {},
        },
        status_code=status_code,
    )


async def _refused(
    request: Request,
    session: Session,
    api: GatewayApi,
    key: str,
    exc: ApiRefused,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The page again, nothing changed, with the API's refusal next to form `key`."""
    if exc.status in (401, 403):
        raise exc
    # An outcome that is gone has no form left to show the refusal at: say it at the top.
    shown_at = "page" if exc.status == 404 else key
    return await _outcomes_page(
        request,
        session,
        api,
        errors={shown_at: exc.message},
        field_errors={key: _field_errors(exc)} if exc.status == 422 else None,
        values={key: values} if values else None,
        status_code=exc.status if 400 <= exc.status < 600 else 502,
    )


def _back(done: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"{OUTCOMES}?done={done}{anchor}", status_code=303)


def _outcome_fields(outcome_type: str, brief: str, video_url: str) -> dict[str, Any]:
    return {
        "outcome_type": outcome_type,
        "brief": brief.strip(),
        "video_url": video_url.strip() or None,
    }


@router.get("/outcomes", response_class=HTMLResponse)
async def outcomes_page(request: Request, session: SchoolSession, api: Api) -> HTMLResponse:
    """This term's courses, my outcomes with their status and files, and the 勾選."""
    return await _outcomes_page(request, session, api)


@router.post("/outcomes/new", response_class=HTMLResponse)
async def create_outcome(
    request: Request,
    session: SchoolSession,
    api: Api,
    enrolment_id: Annotated[str, Form()],
    outcome_type: Annotated[str, Form()] = "",
    brief: Annotated[str, Form()] = "",
    video_url: Annotated[str, Form()] = "",
) -> Response:
    """新增 a draft outcome for one of my courses."""
    school = require_student(session)
    payload = {"enrolment_id": enrolment_id, **_outcome_fields(outcome_type, brief, video_url)}
    try:
        created = await api.post(f"{_courses_path(school)}/outcomes", json=payload)
    except ApiRefused as exc:
        return await _refused(request, session, api, f"new:{enrolment_id}", exc, payload)
    return _back("created", f"#outcome-{created['id']}")


@router.post("/outcomes/{outcome_id}/edit", response_class=HTMLResponse)
async def edit_outcome(
    request: Request,
    session: SchoolSession,
    api: Api,
    outcome_id: str,
    outcome_type: Annotated[str, Form()] = "",
    brief: Annotated[str, Form()] = "",
    video_url: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    """修改 a draft or failed outcome (with the version read, so a stale page is a 409)."""
    school = require_student(session)
    payload = _outcome_fields(outcome_type, brief, video_url)
    headers = {"if-match": version} if version.isdigit() else {}
    try:
        await api.patch(
            f"{_courses_path(school)}/outcomes/{outcome_id}", json=payload, headers=headers
        )
    except ApiRefused as exc:
        return await _refused(request, session, api, f"edit:{outcome_id}", exc, payload)
    return _back("updated", f"#outcome-{outcome_id}")


@router.post("/outcomes/{outcome_id}/files", response_class=HTMLResponse)
async def upload_file(
    request: Request,
    session: SchoolSession,
    api: Api,
    outcome_id: str,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """上傳 a document (pdf/jpg/png) or media file (mp3/mp4): it goes to the slot of its kind,
    replacing the file there or adding one (up to the term's files per outcome)."""
    school = require_student(session)
    key = f"upload:{outcome_id}"
    name = (file.filename or "") if file is not None else ""
    if file is None or not name:
        return await _outcomes_page(
            request, session, api, errors={key: "請選擇要上傳的檔案"}, status_code=422
        )
    slot = SLOT_OF_SUFFIX.get(PurePath(name).suffix.lower().lstrip("."))
    if slot is None:
        message = "僅接受 PDF、JPG、PNG 文件或 MP3、MP4 影音檔"
        return await _outcomes_page(request, session, api, errors={key: message}, status_code=415)
    content_type = file.content_type or "application/octet-stream"
    try:
        await api.put(
            f"{_courses_path(school)}/outcomes/{outcome_id}/files/{slot}",
            files={"file": (name, await file.read(), content_type)},
        )
    except ApiRefused as exc:
        return await _refused(request, session, api, key, exc)
    return _back("uploaded", f"#outcome-{outcome_id}")


@router.post("/outcomes/{outcome_id}/files/{file_id}/delete", response_class=HTMLResponse)
async def delete_file(
    request: Request, session: SchoolSession, api: Api, outcome_id: str, file_id: str
) -> Response:
    """刪除 one file of a draft or failed outcome."""
    school = require_student(session)
    try:
        await api.delete(f"{_courses_path(school)}/outcomes/{outcome_id}/files/{file_id}")
    except ApiRefused as exc:
        return await _refused(request, session, api, f"upload:{outcome_id}", exc)
    return _back("file_deleted", f"#outcome-{outcome_id}")


@router.get("/outcomes/{outcome_id}/files/{file_id}")
async def download_file(
    session: SchoolSession, api: Api, outcome_id: str, file_id: str
) -> RedirectResponse:
    """My file: the API's five-minute download link."""
    school = require_student(session)
    link = await api.get(f"{_courses_path(school)}/outcomes/{outcome_id}/files/{file_id}")
    return RedirectResponse(str(link["url"]), status_code=303)


@router.post("/outcomes/{outcome_id}/submission", response_class=HTMLResponse)
async def submit_outcome(
    request: Request, session: SchoolSession, api: Api, outcome_id: str
) -> Response:
    """送審 to the course's certifying teacher."""
    school = require_student(session)
    try:
        await api.post(f"{_courses_path(school)}/outcomes/{outcome_id}/submission")
    except ApiRefused as exc:
        return await _refused(request, session, api, f"submit:{outcome_id}", exc)
    return _back("submitted", f"#outcome-{outcome_id}")


@router.post("/outcomes/{outcome_id}/delete", response_class=HTMLResponse)
async def delete_outcome(
    request: Request, session: SchoolSession, api: Api, outcome_id: str
) -> Response:
    """刪除 a draft (or failed) outcome."""
    school = require_student(session)
    try:
        await api.delete(f"{_courses_path(school)}/outcomes/{outcome_id}")
    except ApiRefused as exc:
        return await _refused(request, session, api, f"submit:{outcome_id}", exc)
    return _back("deleted")


@router.post("/outcomes/selections", response_class=HTMLResponse)
async def select_outcomes(request: Request, session: SchoolSession, api: Api) -> Response:
    """勾選: replace this term's selection with the certified outcomes ticked."""
    school = require_student(session)
    form = await request.form()
    chosen = [str(v) for v in form.getlist("outcome_ids")]
    year, semester = await student_term(api, school)
    payload = {"academic_year": year, "semester": semester, "outcome_ids": chosen}
    try:
        await api.put(f"{_courses_path(school)}/me/selections", json=payload)
    except ApiRefused as exc:
        return await _refused(request, session, api, "select", exc, {"chosen": chosen})
    return _back("selected", "#select")


async def _profile_page(
    request: Request,
    session: Session,
    api: GatewayApi,
    *,
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    school = require_student(session)
    person = await api.get(f"{_identity_path(school)}/me/profile")
    done = request.query_params.get("done", "")
    return render(
        request,
        "student/profile.html",
        {
            "title": "學生資料維護",
            "flash": DONE.get(done),
            "person": person,
            "values": values or {f: person.get(f) or "" for f in PROFILE_FIELDS},
            "error": error,
            "field_errors": field_errors or {},
        },
        status_code=status_code,
    )


@router.get("/profile", response_class=HTMLResponse)
async def profile_page(request: Request, session: SchoolSession, api: Api) -> HTMLResponse:
    """My record (official fields read-only) and my contact fields to keep current."""
    return await _profile_page(request, session, api)


@router.post("/profile", response_class=HTMLResponse)
async def update_profile(
    request: Request,
    session: SchoolSession,
    api: Api,
    email: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
) -> Response:
    """更新 e-mail, phone and address; a refused field is shown next to it."""
    school = require_student(session)
    values = {"email": email.strip(), "phone": phone.strip(), "address": address.strip()}
    payload = {field: value or None for field, value in values.items()}
    try:
        await api.patch(f"{_identity_path(school)}/me/profile", json=payload)
    except ApiRefused as exc:
        if exc.status in (401, 403, 404):
            raise
        fields = _field_errors(exc)
        return await _profile_page(
            request,
            session,
            api,
            error=exc.message,
            field_errors=fields,
            values=values,
            status_code=exc.status,
        )
    return RedirectResponse(f"{PROFILE}?done=profile", status_code=303)
