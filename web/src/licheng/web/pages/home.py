"""The start page: the signed-in person's menu, or the way in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from licheng.web.pages.render import render
from licheng.web.sessions import COOKIE, SessionStore

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    """Each role's start: the menu of what they may do; before sign-in, the sign-in link."""
    store: SessionStore = request.app.state.sessions
    session = await store.get(request.cookies.get(COOKIE, ""))
    if session is not None:
        request.state.session = session
    return render(request, "home.html", {"title": "學習歷程檔案"}, session=session)
