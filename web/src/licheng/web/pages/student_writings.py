"""學生: 自傳 / 學習計畫 with versions side by side, and the portfolio download.

Saving calls guidance's `PUT …/me/writings/{kind}` (with the version read as `If-Match`, so a
page left open while another tab saved is a 409, not a lost edit). Every version the API keeps
is listed; any two are shown side by side with a line diff (difflib). The portfolio ZIP is the
exports API's answer streamed through to the browser with its content type and file name.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from licheng.web.deps import Api, SchoolSession
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.render import render
from licheng.web.pages.student import page_refusal, require_student
from licheng.web.pages.student_performances import api_field_errors
from licheng.web.sessions import Session

router = APIRouter(prefix="/student", include_in_schema=False)

WRITINGS = "/student/writings"
KINDS = ("autobiography", "study_plan")
VERSIONS_PAGE = 200
# Building a portfolio with its files and PDF takes a while; the download may then be large.
PORTFOLIO_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
PASSED_HEADERS = ("content-disposition", "content-length", "content-encoding")


def _guidance(school: str) -> str:
    return f"/api/guidance/v1/schools/{school}"


@dataclass(frozen=True)
class DiffRow:
    """One row of the side-by-side view: the old line, the new line and how they differ."""

    op: str  # equal | delete | insert | replace
    old_no: int | None
    old: str
    new_no: int | None
    new: str


def side_by_side(old_text: str, new_text: str) -> list[DiffRow]:
    """The two texts line by line, paired the way difflib matches them."""
    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        for offset in range(max(a2 - a1, b2 - b1)):
            i, j = a1 + offset, b1 + offset
            has_old, has_new = i < a2, j < b2
            if op == "replace" and not (has_old and has_new):
                op_of_row = "delete" if has_old else "insert"  # the longer side's extra lines
            else:
                op_of_row = op
            rows.append(
                DiffRow(
                    op=op_of_row,
                    old_no=i + 1 if has_old else None,
                    old=old_lines[i] if has_old else "",
                    new_no=j + 1 if has_new else None,
                    new=new_lines[j] if has_new else "",
                )
            )
    return rows


def _diff_summary(rows: list[DiffRow]) -> str:
    """The diff in words, beside the table."""
    counts = {op: sum(1 for r in rows if r.op == op) for op in ("insert", "delete", "replace")}
    if not any(counts.values()):
        return "兩個版本內容相同。"
    return (
        f"新增 {counts['insert']} 行、刪除 {counts['delete']} 行、修改 {counts['replace']} 行"
        "（以顏色與「新增／刪除／修改」標示）。"
    )


def _version_number(raw: str | None, numbers: list[int], fallback: int) -> int:
    if raw and raw.isdigit() and int(raw) in numbers:
        return int(raw)
    return fallback


async def _versions(api: GatewayApi, school: str, person: str, kind: str) -> list[Any]:
    """Every version of my writing of `kind`, newest first."""
    page = await api.get(
        f"{_guidance(school)}/students/{person}/writings/{kind}/versions",
        params={"limit": VERSIONS_PAGE},
    )
    return list(page["items"])


def _comparison(
    request: Request, kind: str, versions: list[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The two versions picked (default: the one before the current and the current)."""
    if len(versions) < 2:
        return None
    by_number = {int(v["number"]): v for v in versions}
    numbers = sorted(by_number)
    asked = request.query_params.get("kind") == kind
    old = _version_number(request.query_params.get("old") if asked else None, numbers, numbers[-2])
    new = _version_number(request.query_params.get("new") if asked else None, numbers, numbers[-1])
    rows = side_by_side(str(by_number[old]["text"]), str(by_number[new]["text"]))
    return {
        "old": by_number[old],
        "new": by_number[new],
        "rows": rows,
        "summary": _diff_summary(rows),
    }


async def _writings_page(
    request: Request,
    session: Session,
    api: GatewayApi,
    *,
    errors: dict[str, str] | None = None,
    field_errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Both writings: the editor, the versions and the side-by-side comparison."""
    school = require_student(session)
    person = session.person_id
    if person is None:
        raise page_refusal("找不到您的學生資料，請重新登入。", "student_not_found", 404)
    writings = {str(w["kind"]): w for w in await api.get(f"{_guidance(school)}/me/writings")}
    params = await api.get(f"{_guidance(school)}/parameters")
    kinds = []
    for kind in KINDS:
        writing = writings.get(kind) or {"kind": kind, "version": 0, "text": ""}
        versions = await _versions(api, school, person, kind) if writing["version"] else []
        kinds.append(
            {
                "kind": kind,
                "writing": writing,
                "title": writing.get("title") or ("自傳" if kind == KINDS[0] else "學習計畫"),
                "text": (values or {}).get(kind, writing.get("text") or ""),
                "versions": versions,
                "comparison": _comparison(request, kind, versions),
            }
        )
    done = request.query_params.get("done", "")
    saved = {"autobiography": "已儲存自傳（新版本）。", "study_plan": "已儲存學習計畫（新版本）。"}
    return render(
        request,
        "student/writings.html",
        {
            "title": "自傳與學習計畫",
            "flash": saved.get(done),
            "kinds": kinds,
            "params": params,
            "errors": errors or {},
            "field_errors": field_errors or {},
        },
        status_code=status_code,
    )


@router.get("/writings", response_class=HTMLResponse)
async def writings_page(request: Request, session: SchoolSession, api: Api) -> HTMLResponse:
    """My 自傳 and 學習計畫: edit, every version kept, two versions side by side."""
    return await _writings_page(request, session, api)


@router.post("/writings/{kind}", response_class=HTMLResponse, response_model=None)
async def save_writing(
    request: Request,
    session: SchoolSession,
    api: Api,
    kind: str,
    text: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    """儲存 a new version of my 自傳 or 學習計畫."""
    school = require_student(session)
    if kind not in KINDS:
        raise page_refusal("沒有這種文件（僅自傳、學習計畫）", "writing_kind_unknown", 404)
    headers = {"if-match": version} if version.isdigit() else {}
    try:
        await api.put(
            f"{_guidance(school)}/me/writings/{kind}", json={"text": text}, headers=headers
        )
    except ApiRefused as exc:
        if exc.status in (401, 403):
            raise
        return await _writings_page(
            request,
            session,
            api,
            errors={kind: exc.message},
            field_errors={kind: api_field_errors(exc)},
            values={kind: text},
            status_code=exc.status if 400 <= exc.status < 600 else 502,
        )
    return RedirectResponse(f"{WRITINGS}?done={kind}#writing-{kind}-heading", status_code=303)


@router.get("/portfolio", response_class=HTMLResponse)
async def portfolio_page(request: Request, session: SchoolSession) -> HTMLResponse:
    """What the portfolio holds, and its download."""
    require_student(session)
    return render(request, "student/portfolio.html", {"title": "下載我的學習歷程"})


@router.get("/portfolio/download", response_model=None)
async def download_portfolio(request: Request, session: SchoolSession) -> Response:
    """The exports API's portfolio ZIP, streamed to the browser as the API answers it."""
    school = require_student(session)
    http: httpx.AsyncClient = request.app.state.gateway_http
    headers = {"authorization": f"Bearer {session.access_token}"}
    if request_id := request.headers.get("x-request-id"):
        headers["x-request-id"] = request_id
    built = http.build_request(
        "GET",
        f"/api/exports/v1/schools/{school}/me/portfolio",
        headers=headers,
        timeout=PORTFOLIO_TIMEOUT,
    )
    try:
        upstream = await http.send(built, stream=True)
    except httpx.HTTPError:
        message = "學習歷程檔案暫時無法產生，請稍後再試"
        raise page_refusal(message, "portfolio_unavailable", 503) from None
    if upstream.status_code >= 400:
        try:
            await upstream.aread()
        finally:
            await upstream.aclose()
        raise ApiRefused(upstream)
    passed = {name: upstream.headers[name] for name in PASSED_HEADERS if name in upstream.headers}
    return StreamingResponse(
        upstream.aiter_raw(),
        media_type=upstream.headers.get("content-type", "application/zip"),
        headers={**passed, "cache-control": "no-store"},
        background=BackgroundTask(upstream.aclose),
    )
