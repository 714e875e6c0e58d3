"""授課教師 (and 代理人): the certification queue, one outcome's review, 認證成功 / 認證失敗 /
取消認證 (one or several at once) and the files to read, opened through the API's short links.

Who may certify is the API's decision (a 授課教師, the teacher a 修課紀錄 names, or an active
代理人): the pages only call the certification endpoints for the signed-in person, and a refusal
becomes the error page, or, for a form, its message next to the field it concerns.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licheng.web.deps import Api, SchoolSession
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.render import render

router = APIRouter(prefix="/teacher", include_in_schema=False)

QueueStatus = Literal["submitted", "certified", "failed"]
Slot = Literal["document", "media"]

# docs/domain.md §1.5 (the service's FailReason): the reasons a teacher picks for 認證失敗.
REASONS: dict[str, str] = {
    "01": "非本課程相關主題成果，無法認證",
    "02": "無法查證成果可信度",
    "03": "請加強成果內容正確性",
    "04": "請增加成果內容豐富度",
}
TABS: dict[str, str] = {"submitted": "待認證", "certified": "認證成功", "failed": "認證失敗"}
STATUS_TITLES: dict[str, str] = {
    "draft": "未送審",
    "submitted": "認證中",
    "certified": "認證成功",
    "failed": "認證失敗",
}
BATCH_LIMIT = 200
PAGE_SIZE = 50
DONE: dict[str, str] = {
    "certified": "已認證成功",
    "failed": "已認證失敗，學生可修改後再次送審",
    "revoked": "已取消認證，學生可修改後重新送審",
}
# An API refusal of a form: which status the re-rendered page answers with.
REFUSAL_STATUS = {"term_locked": 423, "request_invalid": 422}


def _moment(text: str) -> datetime:
    """An API moment (ISO 8601 with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _base(school: str) -> str:
    return f"/api/course-outcomes/v1/schools/{school}"


def _field_errors(exc: ApiRefused) -> dict[str, str]:
    """The fields a 422 names (`detail[].field`), with the API's message for each."""
    errors: dict[str, str] = {}
    if isinstance(exc.detail, list):
        for item in exc.detail:
            if isinstance(item, dict) and item.get("field"):
                field = str(item["field"]).split(".")[-1]
                errors[field] = str(item.get("message") or exc.message)
    return errors


def _decision(decision: str, reason_code: str, explanation: str) -> dict[str, Any]:
    """The API's decision body from the form."""
    if decision == "certified":
        return {"certified": True}
    return {
        "certified": False,
        "reason_code": reason_code or None,
        "explanation": explanation.strip() or None,
    }


def _check_decision(decision: str, reason_code: str, explanation: str) -> dict[str, str]:
    """What the form lacks, before asking the API (the API checks again)."""
    errors: dict[str, str] = {}
    if decision not in ("certified", "failed"):
        errors["decision"] = "請選擇認證成功或認證失敗"
    elif decision == "failed":
        if reason_code not in REASONS:
            errors["reason_code"] = "認證失敗需選擇原因代碼"
        if not explanation.strip():
            errors["explanation"] = "認證失敗需填寫認證說明"
    return errors


async def _queue(
    api: GatewayApi,
    school: str,
    state: str,
    *,
    class_code: str | None,
    course_code: str | None,
    cursor: str | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"status": state, "limit": PAGE_SIZE}
    if class_code:
        params["class_code"] = class_code
    if course_code:
        params["course_code"] = course_code
    if cursor:
        params["cursor"] = cursor
    page: dict[str, Any] = await api.get(f"{_base(school)}/certifications", params=params)
    return page


async def _queue_page(
    request: Request,
    session: SchoolSession,
    api: GatewayApi,
    *,
    state: str = "submitted",
    class_code: str | None = None,
    course_code: str | None = None,
    cursor: str | None = None,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assert session.school_code is not None
    page = await _queue(api, session.school_code, state, class_code=class_code,
                        course_code=course_code, cursor=cursor)  # fmt: skip
    context: dict[str, Any] = {
        "title": "待認證成果",
        "state": state,
        "tabs": TABS,
        "reasons": REASONS,
        "status_titles": STATUS_TITLES,
        "items": page["items"],
        "total": page["total"],
        "next_cursor": page.get("next_cursor"),
        "class_code": class_code or "",
        "course_code": course_code or "",
        "batch_limit": BATCH_LIMIT,
        "errors": {},
        "row_errors": {},
        "chosen": set(),
        "form": {"decision": "", "reason_code": "", "explanation": ""},
        **(extra or {}),
    }
    return render(request, "teacher/certifications.html", context, status_code=status_code)


@router.get("/certifications", response_class=HTMLResponse)
async def certification_queue(
    request: Request,
    session: SchoolSession,
    api: Api,
    state: Annotated[QueueStatus, Query(alias="status")] = "submitted",
    class_code: Annotated[str | None, Query(max_length=20)] = None,
    course_code: Annotated[str | None, Query(max_length=23)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
    n: Annotated[int | None, Query(ge=0, le=BATCH_LIMIT)] = None,
) -> HTMLResponse:
    """The outcomes waiting for me (or decided by me), with the student's 學號/姓名/班級/座號."""
    flash = None
    if done == "batch" and n is not None:
        flash = f"已完成 {n} 件成果的認證"
    elif done in DONE:
        flash = DONE[done]
    return await _queue_page(request, session, api, state=state, class_code=class_code,
                             course_code=course_code, cursor=cursor,
                             extra={"flash": flash})  # fmt: skip


@router.post("/certifications/batch", response_class=HTMLResponse)
async def decide_batch(
    request: Request,
    session: SchoolSession,
    api: Api,
    outcome_id: Annotated[list[uuid.UUID] | None, Form()] = None,
    decision: Annotated[str, Form(max_length=20)] = "",
    reason_code: Annotated[str, Form(max_length=2)] = "",
    explanation: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """One decision for the ticked outcomes (the API's batch endpoint); each refusal is shown
    on its row, the others stay decided."""
    assert session.school_code is not None
    chosen = list(dict.fromkeys(outcome_id or []))
    form = {"decision": decision, "reason_code": reason_code, "explanation": explanation}
    errors = _check_decision(decision, reason_code, explanation)
    if not chosen:
        errors["outcome_id"] = "請勾選要認證的成果"
    elif len(chosen) > BATCH_LIMIT:
        errors["outcome_id"] = f"一次最多認證 {BATCH_LIMIT} 件成果"
    extra: dict[str, Any] = {"form": form, "chosen": {str(c) for c in chosen}}
    if errors:
        return await _queue_page(request, session, api, extra={**extra, "errors": errors},
                                 status_code=422)  # fmt: skip
    body = _decision(decision, reason_code, explanation)
    body["outcome_ids"] = [str(c) for c in chosen]
    try:
        result = await api.post(f"{_base(session.school_code)}/certifications/batch", json=body)
    except ApiRefused as exc:
        if exc.status == 401:
            raise
        errors = _field_errors(exc) or {"page": exc.message}
        if "page" not in errors:
            errors["page"] = exc.message
        return await _queue_page(request, session, api, extra={**extra, "errors": errors},
                                 status_code=exc.status)  # fmt: skip
    if result["failed"] == 0:
        return RedirectResponse(
            f"/teacher/certifications?done=batch&n={result['succeeded']}", status_code=303
        )
    row_errors = {r["outcome_id"]: r.get("message") or "無法認證" for r in result["results"]
                  if not r["ok"]}  # fmt: skip
    codes = {r.get("error") for r in result["results"] if not r["ok"]}
    status = 423 if codes == {"term_locked"} else 409
    page_error = f"{result['failed']} 件成果無法認證，請見各列說明"
    if result["succeeded"]:
        page_error = f"已完成 {result['succeeded']} 件；{page_error}"
    failed_ids = {str(r["outcome_id"]) for r in result["results"] if not r["ok"]}
    return await _queue_page(
        request, session, api, status_code=status,
        extra={**extra, "chosen": failed_ids, "row_errors": row_errors,
               "errors": {"page": page_error}},
    )  # fmt: skip


async def _outcome(api: GatewayApi, school: str, outcome_id: uuid.UUID) -> dict[str, Any]:
    outcome: dict[str, Any] = await api.get(f"{_base(school)}/outcomes/{outcome_id}")
    return outcome


def _review(
    request: Request,
    outcome: dict[str, Any],
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    slots: dict[str, int] = {}
    for file in outcome.get("files", []):
        slots[file["slot"]] = slots.get(file["slot"], 0) + 1
    context = {
        "title": "審閱課程學習成果",
        "outcome": outcome,
        "reasons": REASONS,
        "status_titles": STATUS_TITLES,
        "slot_counts": slots,
        "form": form or {"decision": "", "reason_code": "", "explanation": ""},
        "errors": errors or {},
        "flash": flash,
    }
    return render(request, "teacher/review.html", context, status_code=status_code)


@router.get("/certifications/{outcome_id}", response_class=HTMLResponse)
async def review(
    request: Request,
    outcome_id: uuid.UUID,
    session: SchoolSession,
    api: Api,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """One outcome to read before deciding: brief, files, video link, earlier decision."""
    assert session.school_code is not None
    outcome = await _outcome(api, session.school_code, outcome_id)
    return _review(request, outcome, flash=DONE.get(done or ""))


@router.post("/certifications/{outcome_id}", response_class=HTMLResponse)
async def decide(
    request: Request,
    outcome_id: uuid.UUID,
    session: SchoolSession,
    api: Api,
    decision: Annotated[str, Form(max_length=20)] = "",
    reason_code: Annotated[str, Form(max_length=2)] = "",
    explanation: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """認證成功, or 認證失敗 with a reason code and 說明."""
    assert session.school_code is not None
    form = {"decision": decision, "reason_code": reason_code, "explanation": explanation}
    errors = _check_decision(decision, reason_code, explanation)
    if not errors:
        try:
            await api.post(
                f"{_base(session.school_code)}/outcomes/{outcome_id}/certification",
                json=_decision(decision, reason_code, explanation),
            )
        except ApiRefused as exc:
            if exc.status in (401, 403, 404):
                raise
            errors = _field_errors(exc)
            errors["page"] = exc.message
            outcome = await _outcome(api, session.school_code, outcome_id)
            return _review(request, outcome, form=form, errors=errors,
                           status_code=REFUSAL_STATUS.get(exc.code, exc.status))  # fmt: skip
        return RedirectResponse(f"/teacher/certifications?done={decision}", status_code=303)
    outcome = await _outcome(api, session.school_code, outcome_id)
    return _review(request, outcome, form=form, errors=errors, status_code=422)


@router.post("/certifications/{outcome_id}/revoke", response_class=HTMLResponse)
async def revoke(
    request: Request, outcome_id: uuid.UUID, session: SchoolSession, api: Api
) -> Response:
    """取消認證: the student may edit again and must resubmit."""
    assert session.school_code is not None
    try:
        await api.delete(f"{_base(session.school_code)}/outcomes/{outcome_id}/certification")
    except ApiRefused as exc:
        if exc.status in (401, 403, 404):
            raise
        outcome = await _outcome(api, session.school_code, outcome_id)
        return _review(request, outcome, errors={"revoke": exc.message, "page": exc.message},
                       status_code=REFUSAL_STATUS.get(exc.code, exc.status))  # fmt: skip
    return RedirectResponse(
        "/teacher/certifications?status=certified&done=revoked", status_code=303
    )


@router.get("/certifications/{outcome_id}/files/{slot}")
async def open_file(
    outcome_id: uuid.UUID,
    slot: Slot,
    session: SchoolSession,
    api: Api,
    file: Annotated[uuid.UUID | None, Query()] = None,
) -> RedirectResponse:
    """The file in the browser: ask the API for its five-minute link and go there (a slot
    holding several files is opened by file id)."""
    assert session.school_code is not None
    base = _base(session.school_code)
    if file is not None:
        link = await api.get(f"{base}/outcomes/{outcome_id}/files/{file}")
    else:
        link = await api.get(f"{base}/certifications/{outcome_id}/files/{slot}")
    return RedirectResponse(str(link["url"]), status_code=303)


@router.get("/delegations", response_class=HTMLResponse)
async def delegations(
    request: Request,
    session: SchoolSession,
    api: Api,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """代理人: whom I named (and may end now) and whose queues I certify for."""
    assert session.school_code is not None
    page = await api.get(f"{_base(session.school_code)}/delegations", params={"limit": 200})
    now = datetime.now(UTC)
    given = [
        {**d, "endable": d["ended_early_at"] is None and _moment(d["ends_at"]) > now}
        for d in page["items"]
        if d["teacher_id"] == session.person_id
    ]
    received = [d for d in page["items"] if d["substitute_id"] == session.person_id]
    return render(request, "teacher/delegations.html", {
        "title": "代理人", "given": given, "received": received,
        "flash": "已結束代理" if done == "ended" else None,
    })  # fmt: skip


@router.post("/delegations/{delegation_id}/end", response_class=HTMLResponse)
async def end_delegation(delegation_id: uuid.UUID, session: SchoolSession, api: Api) -> Response:
    """結束代理: the 代理人 no longer sees my queue."""
    assert session.school_code is not None
    await api.delete(f"{_base(session.school_code)}/delegations/{delegation_id}")
    return RedirectResponse("/teacher/delegations?done=ended", status_code=303)
