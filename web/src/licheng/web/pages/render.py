"""Rendering a page: the template, plus the layout's person, school, menu and CSRF token."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from licheng.kit.spreadsheet import roc_date, roc_datetime
from licheng.web.menu import menu_for, role_titles
from licheng.web.sessions import Session

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


def roc(value: Any, *, with_time: bool = False) -> str:
    """An API date or moment (ISO text) as schools write it: 民國 year, Taiwan time."""
    if value in (None, ""):
        return ""
    text = str(value)
    try:
        if len(text) == 10:
            return roc_date(date.fromisoformat(text))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return roc_datetime(moment) if with_time else roc_date(moment)


TEMPLATES.env.filters["roc"] = roc


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    session: Session | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The page, with the layout's context for the signed-in person (if any)."""
    session = session or getattr(request.state, "session", None)
    layout: dict[str, Any] = {"session": session, "menu": [], "roles": [], "csrf_token": None}
    if session is not None:
        layout.update(menu=menu_for(session), roles=role_titles(session), csrf_token=session.csrf)
    return TEMPLATES.TemplateResponse(
        request, template, {**layout, **context}, status_code=status_code
    )
