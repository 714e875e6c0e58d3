"""名冊 submission: 預檢, 提交 with progress, download, history, lock state, reopen.

- `/rosters/{24|25|26}`: the roster's submitter (or the admin) picks the term, sees its lock
  state, runs a 預檢 (the job followed with htmx, then its problems), submits (a live progress
  bar until the run ends), downloads the ZIP and reads every run of the term.
- `/rosters`: the admin's view of the three rosters' runs, and the owners' reopen with a reason.
The portal only calls the exports API and the owners' reopen API with the person's token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from licheng.web.deps import Api
from licheng.web.gateway import ApiRefused, GatewayApi
from licheng.web.pages.courses import passthrough, refusal, role_required, school_term
from licheng.web.pages.paging import every_item
from licheng.web.pages.render import render
from licheng.web.sessions import Session

router = APIRouter(prefix="/rosters", include_in_schema=False)


@dataclass(frozen=True)
class Roster:
    """A 名冊 as the portal shows it: who submits it and whether it is kept per year."""

    code: str
    title: str
    role: str
    yearly: bool
    owner: str


ROSTERS: dict[str, Roster] = {
    "26": Roster("26", "學生課程學習成果名冊", "course_submitter", False, "課程學習成果"),
    "25": Roster("25", "學生自填多元表現名冊", "performance_submitter", True, "多元表現"),
    "24": Roster("24", "校內幹部經歷名冊", "cadre_submitter", False, "校內幹部"),
}
SUBMITTER_ROLES = ("course_submitter", "performance_submitter", "cadre_submitter", "admin")
STATES = {
    "requested": "等待鎖定",
    "building": "產生中",
    "completed": "已完成",
    "failed": "失敗",
}
JOB_STATES = {"queued": "排隊中", "running": "執行中", "done": "已完成", "failed": "失敗"}
ENDED = ("completed", "failed", "done")
COUNT_LABELS = (
    ("students", "學生"),
    ("rows", "資料列"),
    ("files", "附件"),
    ("skipped_rows", "略過列"),
)

SubmitterSession = Annotated[Session, Depends(role_required(*SUBMITTER_ROLES))]
AdminSession = Annotated[Session, Depends(role_required("admin"))]


def exports_api(session: Session) -> str:
    """Exports' prefix for the chosen school."""
    return f"/api/exports/v1/schools/{session.school_code}"


def roster_of(code: str) -> Roster:
    """The roster for a path's code; 404 for anything else."""
    roster = ROSTERS.get(code)
    if roster is None:
        raise refusal(404, "roster_not_found", "找不到指定的名冊")
    return roster


def may_submit(session: Session, roster: Roster) -> bool:
    """Whether the person's roles reach the roster (the admin reaches all three)."""
    roles = set(session.roles())
    return "admin" in roles or roster.role in roles


def require_roster(session: Session, roster: Roster) -> None:
    """The 403 page (worded as the API words it) for a roster the person cannot submit."""
    if not may_submit(session, roster):
        raise refusal(403, "roster_not_allowed", f"您沒有提交「{roster.title}」的權限")


def term_semester(roster: Roster, semester: int) -> int:
    """The semester a roster is kept under: 0 for the yearly 名冊 25."""
    return 0 if roster.yearly else semester


def term_label(year: int, semester: int) -> str:
    """`115 學年度第 1 學期`, or `115 學年度` for a yearly roster."""
    return f"{year} 學年度" + (f"第 {semester} 學期" if semester else "")


async def roster_term(
    request: Request, api: GatewayApi, session: Session, roster: Roster
) -> tuple[int, int]:
    """The term the page works on (query string or the school's current term)."""
    year, semester = await school_term(request, api, session)
    return year, term_semester(roster, semester)


def page_url(roster: Roster, term: tuple[int, int], **extra: str) -> str:
    """The roster page of a term, with extra query parameters."""
    query: dict[str, Any] = {"academic_year": term[0]}
    if not roster.yearly:
        query["semester"] = term[1]
    return f"/rosters/{roster.code}?" + urlencode({**query, **extra})


def lock_state(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The term's lock as its runs tell it: the newest run not reopened holds the lock."""
    for run in runs:  # newest first
        if run.get("reopened_at"):
            return {"locked": False, "label": "已重新開放，可再次提交", "since": run["reopened_at"]}
        if run.get("locked_at"):
            return {"locked": True, "label": "已鎖定：學生不能再修改此期間的資料",
                    "since": run["locked_at"]}  # fmt: skip
        if run.get("state") == "requested":
            return {"locked": False, "label": "等待資料來源服務鎖定", "since": None}
    return {"locked": False, "label": "未鎖定：尚未提交", "since": None}


async def requester_names(api: GatewayApi, session: Session) -> dict[str, str]:
    """Staff names by person id (the staff list is the admin's); the person's own name."""
    names: dict[str, str] = {}
    if "admin" in session.roles():
        try:
            staff = await every_item(api, f"/api/identity/v1/schools/{session.school_code}/staff")
        except ApiRefused as exc:
            if exc.status == 401:
                raise
            staff = []
        names.update({str(p["id"]): str(p.get("name") or "") for p in staff if p.get("id")})
    if session.person_id:
        names[str(session.person_id)] = f"{session.name}（您）"
    return names


def history_rows(
    runs: Sequence[Mapping[str, Any]], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The runs as the history table shows them."""
    rows = []
    for run in runs:
        counts = run.get("counts") or {}
        who = run.get("requested_by")
        rows.append(
            {**run, "who": names.get(str(who), "其他提交者") if who else "系統",
             "state_label": STATES.get(str(run.get("state")), str(run.get("state"))),
             "count_text": "、".join(f"{label} {counts[key]}" for key, label in COUNT_LABELS
                                     if key in counts),
             "term": term_label(int(run["academic_year"]), int(run["semester"]))}
        )  # fmt: skip
    return rows


async def term_runs(
    api: GatewayApi, session: Session, roster: Roster, term: tuple[int, int]
) -> list[dict[str, Any]]:
    """Every run of the roster and term, newest first."""
    params = {"roster_code": roster.code, "academic_year": term[0], "semester": term[1]}
    body = await api.get(f"{exports_api(session)}/submissions", params=params)
    return [run for run in body.get("items", []) if isinstance(run, dict)]


def progress_of(run: Mapping[str, Any]) -> int:
    """A run's percentage: 100 once completed, else its job's."""
    if run.get("state") == "completed":
        return 100
    job = run.get("job") or {}
    return max(0, min(int(job.get("percent") or 0), 100))


# --- the roster page -----------------------------------------------------------------------


async def _roster_page(
    request: Request,
    api: GatewayApi,
    session: Session,
    roster: Roster,
    term: tuple[int, int],
    *,
    error: str | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    runs = await term_runs(api, session, roster, term)
    names = await requester_names(api, session)
    following = request.query_params.get("submission")
    current = None
    if following:
        current = next((run for run in runs if str(run.get("id")) == following), None)
    elif runs and runs[0].get("state") not in ENDED:
        current = runs[0]
    precheck = None
    job_id = request.query_params.get("precheck", "")
    if job_id:
        precheck = await _precheck_context(api, session, roster, job_id)
    return render(
        request,
        "rosters/roster.html",
        {"title": f"{roster.title}提交", "roster": roster, "term": term,
         "term_text": term_label(*term), "lock": lock_state(runs),
         "history": history_rows(runs, names), "current": current,
         "progress": _progress_context(roster, current) if current else None,
         "precheck": precheck, "error": error, "flash": flash},
        status_code=status_code,
    )  # fmt: skip


@router.get("/{code}", response_class=HTMLResponse)
async def roster_page(
    code: str, request: Request, session: SubmitterSession, api: Api
) -> HTMLResponse:
    """The term chooser, lock state, 預檢, 提交 and the term's history."""
    roster = roster_of(code)
    require_roster(session, roster)
    term = await roster_term(request, api, session, roster)
    return await _roster_page(request, api, session, roster, term)


async def _posted_term(
    request: Request, api: GatewayApi, session: Session, roster: Roster
) -> tuple[int, int]:
    """The term a POST names (hidden fields), or the school's current one."""
    form = await request.form()
    year_text, semester_text = str(form.get("academic_year", "")), str(form.get("semester", ""))
    if year_text.isdigit() and 100 <= int(year_text) <= 200:
        semester = int(semester_text) if semester_text in ("1", "2") else 1
        return int(year_text), term_semester(roster, semester)
    return await roster_term(request, api, session, roster)


def _refused_status(exc: ApiRefused) -> None:
    """Let the sign-in redirect through; everything else is shown on the page."""
    if exc.status == 401:
        raise exc


@router.post("/{code}/submissions", response_class=HTMLResponse, response_model=None)
async def submit_roster(
    code: str, request: Request, session: SubmitterSession, api: Api
) -> Response:
    """Start a run; the page then follows it. The API decides who may submit which roster."""
    roster = roster_of(code)
    term = await _posted_term(request, api, session, roster)
    body = {"roster_code": roster.code, "academic_year": term[0], "semester": term[1]}
    try:
        run = await api.post(f"{exports_api(session)}/submissions", json=body)
    except ApiRefused as exc:
        _refused_status(exc)
        if not may_submit(session, roster):
            raise  # the error page, with the API's own message
        return await _roster_page(request, api, session, roster, term, error=exc.message,
                                  status_code=exc.status)  # fmt: skip
    return RedirectResponse(page_url(roster, term, submission=str(run["id"])), status_code=303)


def _progress_context(roster: Roster, run: Mapping[str, Any]) -> dict[str, Any]:
    state = str(run.get("state"))
    return {
        "run": run,
        "percent": progress_of(run),
        "ended": state in ENDED,
        "state_label": STATES.get(state, state),
        "poll_url": f"/rosters/{roster.code}/submissions/{run['id']}/progress",
        "download_url": f"/rosters/{roster.code}/submissions/{run['id']}/download",
    }


@router.get("/{code}/submissions/{submission_id}/progress", response_class=HTMLResponse)
async def submission_progress(
    code: str, submission_id: str, request: Request, session: SubmitterSession, api: Api
) -> HTMLResponse:
    """The progress fragment htmx polls until the run ends (then the history is refreshed)."""
    roster = roster_of(code)
    run = await api.get(f"{exports_api(session)}/submissions/{submission_id}")
    context: dict[str, Any] = {"roster": roster, "progress": _progress_context(roster, run)}
    if run.get("state") in ENDED:
        term = (int(run["academic_year"]), int(run["semester"]))
        runs = await term_runs(api, session, roster, term)
        context.update(history=history_rows(runs, await requester_names(api, session)),
                       lock=lock_state(runs), refresh=True)  # fmt: skip
    return render(request, "rosters/_progress_fragment.html", context)


@router.get("/{code}/submissions/{submission_id}/download", response_model=None)
async def download_submission(
    code: str, submission_id: str, session: SubmitterSession, api: Api
) -> Response:
    """The package: a redirect to the API's short-lived link (checked against the hash there)."""
    roster_of(code)
    link = await api.get(f"{exports_api(session)}/submissions/{submission_id}/download")
    return RedirectResponse(str(link["url"]), status_code=303,
                            headers={"cache-control": "no-store"})  # fmt: skip


# --- 預檢 ------------------------------------------------------------------------------------


def problem_link(roster: Roster, problem: Mapping[str, Any], term: tuple[int, int]) -> str | None:
    """The page where the offending record can be seen, when there is one."""
    class_code = problem.get("class_code")
    if not class_code:
        return None
    if roster.code == "26":
        query = {"view": "students", "academic_year": term[0], "semester": term[1] or 1,
                 "class_code": class_code}  # fmt: skip
        return "/courses/status?" + urlencode(query)
    if roster.code == "25":
        return "/performances/status?" + urlencode(
            {"view": "students", "academic_year": term[0], "class_code": class_code}
        )
    return "/cadres/imports?" + urlencode(
        {"academic_year": term[0], "semester": term[1] or 1, "class_code": class_code}
    )


async def _precheck_context(
    api: GatewayApi, session: Session, roster: Roster, job_id: str
) -> dict[str, Any]:
    job = await api.get(f"{exports_api(session)}/jobs/{job_id}")
    term = (int(job["academic_year"]), int(job["semester"]))
    context: dict[str, Any] = {
        "job": job,
        "ended": job.get("state") in ENDED,
        "state_label": JOB_STATES.get(str(job.get("state")), str(job.get("state"))),
        "poll_url": f"/rosters/{roster.code}/prechecks/{job_id}",
        "download_url": f"/rosters/{roster.code}/prechecks/{job_id}/problems.xlsx",
        "term_text": term_label(*term),
        "problems": None,
    }
    if job.get("state") == "done":
        report = await api.get(f"{exports_api(session)}/prechecks/{job_id}")
        context["counts"] = report.get("counts") or {}
        context["problems"] = [
            {**problem, "link": problem_link(roster, problem, term)}
            for problem in report.get("problems", [])
        ]
    return context


@router.post("/{code}/prechecks", response_class=HTMLResponse, response_model=None)
async def start_precheck(
    code: str, request: Request, session: SubmitterSession, api: Api
) -> Response:
    """Queue a 預檢; the page then follows the job and shows its problems."""
    roster = roster_of(code)
    term = await _posted_term(request, api, session, roster)
    body = {"roster_code": roster.code, "academic_year": term[0], "semester": term[1]}
    try:
        job = await api.post(f"{exports_api(session)}/prechecks", json=body)
    except ApiRefused as exc:
        _refused_status(exc)
        if not may_submit(session, roster):
            raise
        return await _roster_page(request, api, session, roster, term, error=exc.message,
                                  status_code=exc.status)  # fmt: skip
    return RedirectResponse(page_url(roster, term, precheck=str(job["id"])), status_code=303)


@router.get("/{code}/prechecks/{job_id}", response_class=HTMLResponse)
async def precheck_fragment(
    code: str, job_id: str, request: Request, session: SubmitterSession, api: Api
) -> HTMLResponse:
    """The 預檢 fragment htmx polls: progress while the job runs, then the problems."""
    roster = roster_of(code)
    context = await _precheck_context(api, session, roster, job_id)
    return render(request, "rosters/_precheck.html", {"roster": roster, "precheck": context})


@router.get("/{code}/prechecks/{job_id}/problems.xlsx", response_model=None)
async def precheck_download(
    code: str, job_id: str, session: SubmitterSession, api: Api
) -> Response:
    """The API's workbook of the 預檢's problems."""
    roster_of(code)
    response = await api.call("GET", f"{exports_api(session)}/prechecks/{job_id}/problems.xlsx")
    return passthrough(response, f"precheck-{code}.xlsx")


# --- the admin's overview and reopen --------------------------------------------------------


def reopen_path(session: Session, roster: Roster, year: int, semester: int) -> str:
    """The owner's reopen endpoint for a roster's term."""
    if roster.code == "26":
        return (
            f"/api/course-outcomes/v1/schools/{session.school_code}/terms/{year}/{semester}/reopen"
        )
    return (
        f"/api/performances/v1/schools/{session.school_code}"
        f"/rosters/{roster.code}/{year}/{semester}/reopen"
    )


async def _overview(
    request: Request,
    api: GatewayApi,
    session: Session,
    *,
    error: str | None = None,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    names = await requester_names(api, session)
    sections = []
    for roster in ROSTERS.values():
        runs = await every_run(api, session, roster)
        terms: dict[tuple[int, int], list[dict[str, Any]]] = {}
        for run in runs:
            terms.setdefault((int(run["academic_year"]), int(run["semester"])), []).append(run)
        sections.append(
            {"roster": roster, "history": history_rows(runs, names),
             "terms": [{"year": y, "semester": s, "text": term_label(y, s),
                        "lock": lock_state(term_runs_)} for (y, s), term_runs_ in terms.items()]}
        )  # fmt: skip
    return render(
        request,
        "rosters/overview.html",
        {"title": "名冊提交紀錄與解鎖", "sections": sections, "error": error,
         "errors": errors or {}, "values": values or {}, "flash": flash},
        status_code=status_code,
    )  # fmt: skip


async def every_run(api: GatewayApi, session: Session, roster: Roster) -> list[dict[str, Any]]:
    """Every run of a roster, newest first."""
    body = await api.get(f"{exports_api(session)}/submissions", params={"roster_code": roster.code})
    return [run for run in body.get("items", []) if isinstance(run, dict)]


@router.get("", response_class=HTMLResponse)
async def overview_page(request: Request, session: AdminSession, api: Api) -> HTMLResponse:
    """The three rosters: each term's lock state, reopen forms and every run."""
    flash = None
    if request.query_params.get("reopened"):
        flash = "已重新開放，提交紀錄會在資料同步後標示為已重新開放"
    return await _overview(request, api, session, flash=flash)


@router.post("/reopen", response_class=HTMLResponse, response_model=None)
async def reopen_roster(request: Request, session: AdminSession, api: Api) -> Response:
    """Reopen a locked roster's term at its owner, with a reason; refusals shown."""
    form = await request.form()
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    roster = roster_of(values.get("roster_code", ""))
    year = int_text(values.get("academic_year", ""), 100, 200)
    semester = int_text(values.get("semester", ""), 0, 2)
    reason = values.get("reason", "")
    key = f"{roster.code}-{values.get('academic_year', '')}-{values.get('semester', '')}"
    if year is None or semester is None:
        return await _overview(request, api, session, error="請選擇要重新開放的學年度與學期",
                               status_code=422)  # fmt: skip
    if not reason or len(reason) > 500:
        message = "請填寫重新開放的原因（500 字以內）"
        return await _overview(request, api, session, error=message, errors={key: message},
                               values={key: reason}, status_code=422)  # fmt: skip
    try:
        await api.post(reopen_path(session, roster, year, semester), json={"reason": reason})
    except ApiRefused as exc:
        _refused_status(exc)
        return await _overview(request, api, session, error=exc.message,
                               errors={key: exc.message}, values={key: reason},
                               status_code=exc.status)  # fmt: skip
    return RedirectResponse("/rosters?reopened=1", status_code=303)


def int_text(text: str, low: int, high: int) -> int | None:
    """An integer form value within bounds, or None."""
    return int(text) if text.isdigit() and low <= int(text) <= high else None
