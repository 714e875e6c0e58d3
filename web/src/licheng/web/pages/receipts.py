"""收訖明細 (receipts) pages: the student's comparison, confirm and report; the submitters'
import, window, reports with answers and status counts; the 導師's counts and 歷程確認單 PDFs.

- `/student/receipts`: per 名冊 and sheet, what the central database received beside what the
  school submitted (differing fields marked 「不同」 with both values), the window, 「資料正確」,
  a report form per record, the answers, my 歷程確認單 PDF.
- `/receipts`: 課程學習提交者, 多元表現提交者, 校內幹部提交者 and the admin import a package,
  set the window, read and answer the reports on their 名冊, and see the counts per class.
- `/homeroom/receipts`: the 導師's classes' counts and the class / student 歷程確認單 PDFs.
The portal only calls exports' receipts API (docs/receipts.md) with the person's token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import httpx
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licheng.web.deps import Api, SchoolSession
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.courses import (
    field_errors,
    int_arg,
    passthrough,
    role_required,
    school_term,
    upload_of,
)
from licheng.web.pages.parameter_form import aware_from_input, local_input
from licheng.web.pages.render import render, roc
from licheng.web.pages.student import require_student
from licheng.web.sessions import Session

router = APIRouter(include_in_schema=False)

STUDENT_PAGE = "/student/receipts"
STAFF_PAGE = "/receipts"
HOMEROOM_PAGE = "/homeroom/receipts"
PDF = "application/pdf"
STAFF_ROLES = ("course_submitter", "performance_submitter", "cadre_submitter", "admin")
HOMEROOM_ROLES = ("homeroom_teacher", "admin")
ERROR_CODES = (
    ("R01", "欄位內容有誤"),
    ("R02", "缺少應有的紀錄"),
    ("R03", "紀錄重複"),
    ("R04", "不是我的紀錄"),
    ("R05", "附件或連結有誤"),
    ("R99", "其他"),
)
ANSWERS = (
    ("correct_as_received", "經查資料無誤"),
    ("will_fix_and_resubmit", "學校將修正後重新提交"),
)
RECORD_STATUS = {
    "same": "相符",
    "different": "不同",
    "not_submitted": "未提交",
    "not_compared": "未比對",
}
STUDENT_STATUS = {"confirmed": "已確認資料正確", "reported": "已回報問題", "silent": "尚未回應"}
REPORT_STATUS = {"open": "待回覆", "answered": "已回覆"}
ROSTER_TITLES = {"26": "名冊 26", "25": "名冊 25", "24": "名冊 24"}
UNMATCHED_REASONS = {"no_student": "找不到相符的學生", "birth_date_unreadable": "出生日期無法判讀"}
COUNT_LABELS = (
    ("entries", "名單人數"),
    ("students", "比對到的學生"),
    ("records", "紀錄"),
    ("unmatched", "未比對到學生"),
)
DONE = {
    "confirmed": "已確認收訖明細資料正確。",
    "reported": "已送出回報，請等待學校回覆。",
    "window": "已設定學生確認期間。",
    "answered": "已回覆學生的回報。",
}

StaffSession = Annotated[Session, Depends(role_required(*STAFF_ROLES))]
HomeroomSession = Annotated[Session, Depends(role_required(*HOMEROOM_ROLES))]


def receipts_api(school: str) -> str:
    """Exports' prefix for the chosen school."""
    return f"/api/exports/v1/schools/{school}"


def term_text(year: int, semester: int) -> str:
    """`115 學年度第 1 學期` (學期 0: the whole year), as the service words it."""
    return f"{year} 學年度" + (f"第 {semester} 學期" if semester else "")


def window_message(term: tuple[int, int], window: Mapping[str, Any] | None) -> str | None:
    """Why students cannot confirm or report now (the service's wording), or None when open."""
    if window is None:
        return f"{term_text(*term)}的收訖明細確認期間尚未設定"
    if window.get("is_open"):
        return None
    opens = roc(window.get("opens_at"), with_time=True)
    closes = roc(window.get("closes_at"), with_time=True)
    return f"{term_text(*term)}的收訖明細確認期間為 {opens} 至 {closes}，目前不在確認期間內"


def _term_query(term: tuple[int, int], **extra: str) -> str:
    return urlencode({"academic_year": term[0], "semester": term[1], **extra})


def _posted_term(year: str, semester: str) -> tuple[int, int] | None:
    if year.isdigit() and 100 <= int(year) <= 200 and semester in ("0", "1", "2"):
        return int(year), int(semester)
    return None


async def page_term(request: Request, api: GatewayApi, session: Session) -> tuple[int, int]:
    """`?academic_year=&semester=` (學期 0 for a yearly package), else the current term."""
    year = int_arg(request, "academic_year", 100, 200)
    semester = int_arg(request, "semester", 0, 2)
    if year is not None and semester is not None:
        return year, semester
    return await school_term(request, api, session)


def _status_code(exc: ApiRefused) -> int:
    if exc.status == 401:
        raise exc
    return exc.status if 400 <= exc.status < 600 else 502


# --- the student's page ----------------------------------------------------------------------


def compared_rows(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A record's fields, received beside submitted (None: that side lacks the field), the
    differing ones marked."""
    received: Mapping[str, Any] = record.get("received") or {}
    submitted: Mapping[str, Any] = record.get("submitted") or {}
    differences = set(record.get("differences") or [])
    names = [*received, *(n for n in submitted if n not in received)]
    return [
        {
            "field": name,
            "received": _text(received.get(name)) if name in received else None,
            "submitted": _text(submitted.get(name)) if name in submitted else None,
            "different": name in differences,
            # only fields both sides have are compared (docs/receipts.md)
            "compared": name in received and name in submitted,
        }
        for name in names
    ]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _receipt_view(receipt: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The 名冊 and sheets with each record's rows, status label and reports."""
    reports_by_record: dict[str, list[Mapping[str, Any]]] = {}
    for report in receipt.get("reports") or []:
        reports_by_record.setdefault(str(report["record_id"]), []).append(report)
    rosters = []
    for roster in receipt.get("rosters") or []:
        code = roster.get("roster_code")
        sheets = []
        for sheet in roster.get("sheets") or []:
            records = []
            for record in sheet.get("records") or []:
                status = str(record.get("status"))
                reports = reports_by_record.get(str(record["record_id"]), [])
                records.append(
                    {**record, "rows": compared_rows(record),
                     "status_label": RECORD_STATUS.get(status, status), "reports": reports,
                     "open_report": any(r.get("status") == "open" for r in reports)}
                )  # fmt: skip
            sheets.append({**sheet, "records": records})
        title = roster.get("kind") or ""
        rosters.append(
            {**roster, "sheets": sheets,
             "title": f"{title}（{ROSTER_TITLES[code]}）" if code in ROSTER_TITLES else title}
        )  # fmt: skip
    return rosters


async def _student_page(
    request: Request,
    session: Session,
    api: GatewayApi,
    term: tuple[int, int] | None = None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    school = require_student(session)
    term = term or await page_term(request, api, session)
    receipt = await api.get(f"{receipts_api(school)}/me/receipts/terms/{term[0]}/{term[1]}")
    window = receipt.get("window")
    rosters = _receipt_view(receipt)
    shown = {
        f"report:{record['record_id']}"
        for roster in rosters
        for sheet in roster["sheets"]
        for record in sheet["records"]
    }
    errors = dict(errors or {})
    for key in [k for k in errors if k.startswith("report:") and k not in shown]:
        errors["page"] = errors.pop(key)  # a record no longer shown: say it at the top
    return render(
        request,
        "receipts/student.html",
        {"title": "我的收訖明細", "flash": DONE.get(request.query_params.get("done", "")),
         "term": term, "term_text": term_text(*term), "receipt": receipt,
         "rosters": rosters, "window": window,
         "closed_message": window_message(term, window),
         "status_label": STUDENT_STATUS.get(str(receipt.get("status")), ""),
         "error_codes": ERROR_CODES, "errors": errors, "values": values or {},
         "pdf_url": f"{STUDENT_PAGE}/confirmation.pdf?{_term_query(term)}"},
        status_code=status_code,
    )  # fmt: skip


@router.get(STUDENT_PAGE, response_class=HTMLResponse)
async def student_page(request: Request, session: SchoolSession, api: Api) -> HTMLResponse:
    """What the central database received for me beside what the school submitted."""
    return await _student_page(request, session, api)


@router.post(f"{STUDENT_PAGE}/confirmation", response_class=HTMLResponse, response_model=None)
async def confirm(
    request: Request,
    session: SchoolSession,
    api: Api,
    academic_year: Annotated[str, Form()] = "",
    semester: Annotated[str, Form()] = "",
) -> Response:
    """「資料正確」: confirm my receipt (the window's message when it is closed)."""
    school = require_student(session)
    term = _posted_term(academic_year, semester) or await page_term(request, api, session)
    try:
        await api.post(f"{receipts_api(school)}/me/receipts/terms/{term[0]}/{term[1]}/confirmation")
    except ApiRefused as exc:
        status = _status_code(exc)
        return await _student_page(
            request, session, api, term, errors={"confirm": exc.message}, status_code=status
        )
    return RedirectResponse(f"{STUDENT_PAGE}?{_term_query(term, done='confirmed')}", 303)


@router.post(f"{STUDENT_PAGE}/reports", response_class=HTMLResponse, response_model=None)
async def report(
    request: Request,
    session: SchoolSession,
    api: Api,
    record_id: Annotated[str, Form()] = "",
    error_code: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    academic_year: Annotated[str, Form()] = "",
    semester: Annotated[str, Form()] = "",
) -> Response:
    """Report a problem with one record: an error code and a comment."""
    school = require_student(session)
    term = _posted_term(academic_year, semester) or await page_term(request, api, session)
    payload = {"record_id": record_id, "error_code": error_code, "comment": comment.strip()}
    try:
        await api.post(
            f"{receipts_api(school)}/me/receipts/terms/{term[0]}/{term[1]}/reports", json=payload
        )
    except ApiRefused as exc:
        status = _status_code(exc)
        messages = field_errors(exc)
        message = "；".join(messages.values()) if messages else exc.message
        return await _student_page(
            request,
            session,
            api,
            term,
            errors={f"report:{record_id}": message},
            values={record_id: {"error_code": error_code, "comment": comment}},
            status_code=status,
        )
    anchor = f"#record-{record_id}"
    return RedirectResponse(f"{STUDENT_PAGE}?{_term_query(term, done='reported')}{anchor}", 303)


def _pdf_answer(response: httpx.Response, fallback: str) -> Response:
    """The API's PDF answered as the portal's own, with its file name (a refusal: the page)."""
    if response.status_code >= 400:
        raise ApiRefused(response)
    disposition = response.headers.get("content-disposition", f'inline; filename="{fallback}"')
    return Response(
        response.content,
        media_type=PDF,
        headers={"content-disposition": disposition, "cache-control": "no-store"},
    )


@router.get(f"{STUDENT_PAGE}/confirmation.pdf", response_model=None)
async def my_confirmation_pdf(request: Request, session: SchoolSession, api: Api) -> Response:
    """My 歷程確認單 (PDF) of the term."""
    school = require_student(session)
    term = await page_term(request, api, session)
    path = f"{receipts_api(school)}/me/receipts/terms/{term[0]}/{term[1]}/confirmation.pdf"
    return _pdf_answer(await api.call("GET", path), f"receipt_{term[0]}_{term[1]}.pdf")


# --- the submitters' page --------------------------------------------------------------------


def report_filters(request: Request) -> dict[str, str]:
    """The reports list's filters as typed (class, 名冊, status, overdue)."""
    query = request.query_params
    filters = {
        "class_code": query.get("class_code", "").strip()[:20],
        "roster_code": query.get("roster_code", "") if query.get("roster_code") in ROSTER_TITLES
        else "",
        "status": query.get("status", "") if query.get("status") in REPORT_STATUS else "",
        "overdue": "true" if query.get("overdue") in ("true", "1", "on") else "",
    }  # fmt: skip
    return filters


def _import_view(item: Mapping[str, Any]) -> dict[str, Any]:
    counts: Mapping[str, Any] = item.get("counts") or {}
    count_text = "、".join(
        f"{label} {counts[key]}" for key, label in COUNT_LABELS if key in counts
    ) or "、".join(f"{k} {v}" for k, v in counts.items() if not isinstance(v, dict | list))
    unmatched = [
        {**u, "reason_text": UNMATCHED_REASONS.get(str(u.get("reason")), str(u.get("reason")))}
        for u in item.get("unmatched") or []
    ]
    return {**item, "count_text": count_text, "unmatched": unmatched}


async def _optional(api: GatewayApi, path: str, **kwargs: Any) -> Any:
    """An API answer the page can do without (a 403/404 leaves its section out)."""
    try:
        return await api.get(path, **kwargs)
    except ApiRefused as exc:
        if exc.status in (403, 404):
            return None
        raise


async def _staff_page(
    request: Request,
    session: Session,
    api: GatewayApi,
    term: tuple[int, int] | None = None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    imported: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assert session.school_code is not None
    base = receipts_api(session.school_code)
    term = term or await page_term(request, api, session)
    terms = f"{base}/receipts/terms/{term[0]}/{term[1]}"
    filters = report_filters(request)
    params = {key: value for key, value in filters.items() if value}
    reports = await api.get(f"{terms}/reports", params=params)
    imports = await api.get(f"{terms}/imports")
    statuses = await _optional(api, f"{terms}/status")
    window = reports.get("window")
    shown_window = values.get("window") if values else None
    return render(
        request,
        "receipts/staff.html",
        {"title": "收訖明細", "flash": DONE.get(request.query_params.get("done", "")),
         "term": term, "term_text": term_text(*term), "filters": filters,
         "reports": [
             {**r, "status_label": REPORT_STATUS.get(str(r.get("status")), "")}
             for r in reports.get("items", [])
         ],
         "window": window, "window_text": window_message(term, window),
         "window_values": shown_window or {
             "opens_at": local_input(window.get("opens_at")) if window else "",
             "closes_at": local_input(window.get("closes_at")) if window else ""},
         "imports": [_import_view(i) for i in imports.get("items", [])],
         "imported": _import_view(imported) if imported else None,
         "statuses": statuses.get("items", []) if statuses else None,
         "xlsx_url": f"{STAFF_PAGE}/status.xlsx?{_term_query(term)}",
         "roster_titles": ROSTER_TITLES, "report_statuses": REPORT_STATUS, "answers": ANSWERS,
         "errors": errors or {}, "values": values or {},
         "query": _term_query(term)},
        status_code=status_code,
    )  # fmt: skip


@router.get(STAFF_PAGE, response_class=HTMLResponse)
async def staff_page(request: Request, session: StaffSession, api: Api) -> HTMLResponse:
    """Import, window, the reports on my 名冊 with answers, counts per class."""
    return await _staff_page(request, session, api)


@router.post(f"{STAFF_PAGE}/imports", response_class=HTMLResponse, response_model=None)
async def import_package(request: Request, session: StaffSession, api: Api) -> Response:
    """Import a password-protected package; its counts and unmatched entries, or the refusal."""
    assert session.school_code is not None
    form = await request.form()
    password = str(form.get("password", ""))
    term = _posted_term(str(form.get("academic_year", "")), str(form.get("semester", "")))
    upload = await upload_of(request)
    values = {"import": {"academic_year": str(form.get("academic_year", "")),
                         "semester": str(form.get("semester", ""))}}  # fmt: skip
    shown_term = term or await page_term(request, api, session)
    if upload is None or not password or term is None:
        missing = {
            "file": "請選擇收訖明細 ZIP 檔" if upload is None else "",
            "password": "請輸入解壓縮密碼" if not password else "",
            "term": "請輸入學年度（100–200）與學期" if term is None else "",
        }
        errors = {f"import-{k}": v for k, v in missing.items() if v}
        errors["import"] = "請補齊匯入所需的欄位"
        return await _staff_page(
            request, session, api, shown_term, errors=errors, values=values, status_code=422
        )
    name, data, content_type = upload
    try:
        answer = await api.post(
            f"{receipts_api(session.school_code)}/receipts/imports",
            files={"file": (name, data, content_type)},
            data={"password": password, "academic_year": str(term[0]), "semester": str(term[1])},
        )
    except ApiRefused as exc:
        status = _status_code(exc)
        return await _staff_page(
            request,
            session,
            api,
            term,
            errors={"import": f"{exc.message}（{exc.code}）"},
            values=values,
            status_code=status,
        )
    return await _staff_page(request, session, api, term, imported=answer)


@router.post(f"{STAFF_PAGE}/window", response_class=HTMLResponse, response_model=None)
async def set_window(
    request: Request,
    session: StaffSession,
    api: Api,
    academic_year: Annotated[str, Form()] = "",
    semester: Annotated[str, Form()] = "",
    opens_at: Annotated[str, Form()] = "",
    closes_at: Annotated[str, Form()] = "",
) -> Response:
    """Set the students' window (Taiwan time, at least 3 days)."""
    assert session.school_code is not None
    term = _posted_term(academic_year, semester) or await page_term(request, api, session)
    values = {"window": {"opens_at": opens_at, "closes_at": closes_at}}
    errors: dict[str, str] = {}
    moments: dict[str, str | None] = {}
    for key, text in (("opens_at", opens_at), ("closes_at", closes_at)):
        try:
            moments[key] = aware_from_input(text)
        except ValueError:
            moments[key] = None
        if moments[key] is None:
            errors[f"window-{key}"] = "請輸入日期與時間"
    if errors:
        errors["window"] = "請輸入確認期間的開始與結束時間"
        return await _staff_page(
            request, session, api, term, errors=errors, values=values, status_code=422
        )
    path = f"{receipts_api(session.school_code)}/receipts/terms/{term[0]}/{term[1]}/window"
    try:
        await api.put(path, json=moments)
    except ApiRefused as exc:
        status = _status_code(exc)
        fields = {f"window-{k.split('-')[-1]}": v for k, v in field_errors(exc).items()}
        return await _staff_page(
            request,
            session,
            api,
            term,
            errors={"window": exc.message, **fields},
            values=values,
            status_code=status,
        )
    return RedirectResponse(f"{STAFF_PAGE}?{_term_query(term, done='window')}#window", 303)


@router.post(
    f"{STAFF_PAGE}/reports/{{report_id}}/answer", response_class=HTMLResponse, response_model=None
)
async def answer_report(
    request: Request,
    session: StaffSession,
    api: Api,
    report_id: str,
    answer: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    academic_year: Annotated[str, Form()] = "",
    semester: Annotated[str, Form()] = "",
) -> Response:
    """Answer a student's report: correct as received, or will fix and re-submit."""
    assert session.school_code is not None
    term = _posted_term(academic_year, semester) or await page_term(request, api, session)
    path = f"{receipts_api(session.school_code)}/receipts/reports/{report_id}/answer"
    try:
        await api.post(path, json={"answer": answer, "text": text.strip()})
    except ApiRefused as exc:
        status = _status_code(exc)
        messages = field_errors(exc)
        return await _staff_page(
            request,
            session,
            api,
            term,
            errors={f"answer:{report_id}": "；".join(messages.values()) or exc.message},
            values={report_id: {"answer": answer, "text": text}},
            status_code=status,
        )
    target = f"{STAFF_PAGE}?{_term_query(term, done='answered')}#report-{report_id}"
    return RedirectResponse(target, 303)


@router.get(f"{STAFF_PAGE}/status.xlsx", response_model=None)
async def status_workbook(request: Request, session: StaffSession, api: Api) -> Response:
    """The counts per class as the API's workbook."""
    assert session.school_code is not None
    term = await page_term(request, api, session)
    path = f"{receipts_api(session.school_code)}/receipts/terms/{term[0]}/{term[1]}/status.xlsx"
    return passthrough(await api.call("GET", path), f"receipt_status_{term[0]}_{term[1]}.xlsx")


# --- the 導師's page -------------------------------------------------------------------------


async def _class_students(
    api: GatewayApi, school: str, term: tuple[int, int]
) -> dict[str, list[dict[str, Any]]]:
    """The 導師's students by class (course outcomes' status list), for per-student links."""
    params: dict[str, Any] = {"academic_year": term[0], "semester": term[1] or 1,
                              "sort": "seat_no", "limit": 200}  # fmt: skip
    by_class: dict[str, list[dict[str, Any]]] = {}
    for _ in range(20):
        page = await _optional(
            api, f"/api/course-outcomes/v1/schools/{school}/status/students", params=params
        )
        if not page:
            break
        for row in page.get("items", []):
            by_class.setdefault(str(row.get("class_code") or ""), []).append(row)
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    return by_class


def _pdf_links(term: tuple[int, int], statuses: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Each class's 歷程確認單 link on the portal."""
    query = _term_query(term)
    links = {}
    for item in statuses:
        code = str(item["class_code"])
        links[code] = f"{HOMEROOM_PAGE}/classes/{quote(code, safe='')}/confirmation.pdf?{query}"
    return links


@router.get(HOMEROOM_PAGE, response_class=HTMLResponse)
async def homeroom_page(request: Request, session: HomeroomSession, api: Api) -> HTMLResponse:
    """My classes' counts (confirmed, reported, silent) and their 歷程確認單 PDFs."""
    assert session.school_code is not None
    term = await page_term(request, api, session)
    terms = f"{receipts_api(session.school_code)}/receipts/terms/{term[0]}/{term[1]}"
    statuses = (await api.get(f"{terms}/status")).get("items", [])
    students = await _class_students(api, session.school_code, term)
    return render(
        request,
        "receipts/homeroom.html",
        {"title": "班級收訖明細確認", "term": term, "term_text": term_text(*term),
         "statuses": statuses, "class_pdfs": _pdf_links(term, statuses),
         "students": {code: students.get(code, []) for code in _pdf_links(term, statuses)},
         "query": _term_query(term)},
    )  # fmt: skip


@router.get(f"{HOMEROOM_PAGE}/classes/{{class_code}}/confirmation.pdf", response_model=None)
async def class_confirmation_pdf(
    class_code: str, request: Request, session: HomeroomSession, api: Api
) -> Response:
    """A class's 歷程確認單, a page per enrolled student."""
    assert session.school_code is not None
    term = await page_term(request, api, session)
    path = (
        f"{receipts_api(session.school_code)}/receipts/terms/{term[0]}/{term[1]}"
        f"/classes/{quote(class_code, safe='')}/confirmation.pdf"
    )
    return _pdf_answer(await api.call("GET", path), f"receipt_{term[0]}_{term[1]}.pdf")


@router.get(f"{HOMEROOM_PAGE}/students/{{student_id}}/confirmation.pdf", response_model=None)
async def student_confirmation_pdf(
    student_id: str, request: Request, session: HomeroomSession, api: Api
) -> Response:
    """One student's 歷程確認單."""
    assert session.school_code is not None
    term = await page_term(request, api, session)
    path = (
        f"{receipts_api(session.school_code)}/receipts/terms/{term[0]}/{term[1]}"
        f"/students/{quote(student_id, safe='')}/confirmation.pdf"
    )
    return _pdf_answer(await api.call("GET", path), f"receipt_{term[0]}_{term[1]}.pdf")
