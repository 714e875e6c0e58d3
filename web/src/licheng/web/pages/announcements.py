"""公告: the school's current announcements for the signed-in person (everyone in the school)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from licheng.web.deps import Api, SchoolSession
from licheng.web.pages.render import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20


@router.get("/announcements", response_class=HTMLResponse)
async def announcements(
    request: Request, session: SchoolSession, api: Api, cursor: str | None = None
) -> HTMLResponse:
    """The announcements identity shows the person's audience, newest first, page by page."""
    params: dict[str, str | int] = {"limit": PAGE_SIZE}
    if cursor:
        params["cursor"] = cursor
    page = await api.get(
        f"/api/identity/v1/schools/{session.school_code}/announcements", params=params
    )
    return render(
        request,
        "announcements.html",
        {
            "title": "公告",
            "items": page.get("items", []),
            "total": page.get("total", 0),
            "next_cursor": page.get("next_cursor"),
            "first": cursor is None,
        },
    )
