"""The student's own portfolio download: `GET …/me/portfolio` → a ZIP of their selected items.

There is no student in the path: the caller is always the student themself (學生, scope own),
so nobody can download anyone else's portfolio.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from licheng.exports.portfolio import repository, service
from licheng.kit.db import SessionDep
from licheng.kit.errors import NotFound, error_responses
from licheng.kit.permissions import Caller, student_caller
from licheng.kit.settings import ServiceSettings
from licheng.kit.spreadsheet import TemporaryFileResponse, content_disposition
from licheng.kit.storage import ObjectStorage

router = APIRouter(
    prefix="/api/exports/v1/schools/{school_code}",
    tags=["portfolio"],
    responses=error_responses(),
)
Student = Annotated[Caller, Depends(student_caller)]


@router.get(
    "/me/portfolio",
    response_class=Response,
    responses={200: {"content": {service.ZIP_MEDIA_TYPE: {}}, "description": "學習歷程 ZIP"}},
    summary="下載我的學習歷程（勾選項目）",
)
async def my_portfolio(request: Request, session: SessionDep, me: Student) -> Response:
    """The student's certified and selected 課程學習成果 and selected 多元表現 of every year, with
    their files under `files/`, an index page (`index.html`) and its PDF (`index.pdf`)."""
    rows = await repository.portfolio_rows(
        session, school_code=me.school_code, person_id=me.person_id
    )
    if rows is None:
        raise NotFound("尚未取得您的學生資料，請稍後再試", code="student_not_found")
    await session.close()  # the build takes a while; give the connection back first
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    path = await service.build_portfolio(
        rows, client=storage.client, bucket=settings.uploads_bucket
    )
    download = service.download_name(rows.student.local_no)
    headers = {
        "Content-Disposition": content_disposition(download.filename, download.fallback),
        "Content-Length": str(path.stat().st_size),
        "Cache-Control": "no-store",
    }
    return TemporaryFileResponse(path, media_type=service.ZIP_MEDIA_TYPE, headers=headers)
