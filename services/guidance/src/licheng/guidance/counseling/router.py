"""課程諮詢紀錄 over HTTP: counselors record and change their own; the admin, counselors (their
own) and 導師 (their classes' students) read and search; a counselor downloads their own."""

from __future__ import annotations

import uuid
from datetime import date
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from starlette.responses import StreamingResponse

from licheng.guidance.auth import Counselor, GuidanceReader
from licheng.guidance.counseling import exports, service
from licheng.guidance.counseling.repository import CounselingQuery
from licheng.guidance.counseling.schemas import (
    CounselingCreate,
    CounselingPublic,
    CounselingUpdate,
    DownloadLink,
)
from licheng.kit.dates import parse_date
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.settings import ServiceSettings
from licheng.kit.spreadsheet import XLSX_ANSWER, TemporaryFileResponse
from licheng.kit.storage import ObjectStorage
from licheng.kit.versioning import ExpectedVersion

router = APIRouter(
    prefix="/api/guidance/v1/schools/{school_code}",
    tags=["counseling"],
    responses=error_responses(),
)
LINK_SECONDS = 300


def _date(name: str, value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise RequestValidationError(
            [{"type": "date_invalid", "loc": ("query", name),
              "msg": "日期格式不正確（例：2025-09-01 或 114/09/01）", "input": value}]
        )  # fmt: skip
    return parsed


def counseling_query(
    student_id: Annotated[uuid.UUID | None, Query(description="學生")] = None,
    class_code: Annotated[
        str | None, Query(min_length=1, max_length=20, description="班級（紀錄的班級或學生的班級）")
    ] = None,
    held_from: Annotated[
        str | None, Query(alias="from", max_length=20, description="起日（含；ISO 或民國）")
    ] = None,
    until: Annotated[str | None, Query(max_length=20, description="迄日（含）")] = None,
    topic: Annotated[
        str | None, Query(max_length=200, description="主題包含（不分大小寫）")
    ] = None,
) -> CounselingQuery:
    """The list's filters from the query string."""
    return CounselingQuery(
        student_id=student_id,
        class_code=class_code,
        held_from=_date("from", held_from),
        held_until=_date("until", until),
        topic=(topic or "").strip() or None,
    )


Filters = Annotated[CounselingQuery, Depends(counseling_query)]


@router.post(
    "/counseling",
    status_code=status.HTTP_201_CREATED,
    response_model=CounselingPublic,
    summary="新增課程諮詢紀錄",
)
async def create_counseling(
    payload: CounselingCreate, request: Request, response: Response, session: SessionDep,
    me: Counselor,
) -> CounselingPublic:  # fmt: skip
    """An individual (exactly one student) or group (students and/or a whole class: its
    enrolled students now) record; every refused field is named (422)."""
    record = await service.create(
        session, school_code=me.school_code, counselor_id=me.person_id, payload=payload
    )
    response.headers["Location"] = request.app.url_path_for(
        "read_counseling", school_code=me.school_code, record_id=record.id
    )
    return await service.public_view(session, record, service.own_sight(me))


@router.get(
    "/counseling.xlsx",
    response_class=StreamingResponse,
    responses=XLSX_ANSWER,
    summary="下載本人的課程諮詢紀錄（xlsx）",
)
async def download_counseling(
    query: Filters, session: SessionDep, me: Counselor
) -> TemporaryFileResponse:
    """The counselor's own records matching the filters, every row, newest first."""
    student = await service.student_label(session, me.school_code, query.student_id)
    fetch = partial(service.export_rows, session, caller=me, query=query)
    return await exports.download(query, fetch=fetch, student=student)


@router.get("/counseling", response_model=Page[CounselingPublic], summary="課程諮詢紀錄")
async def list_counseling(
    query: Filters,
    session: SessionDep,
    reader: GuidanceReader,
    paging: Paging,
    mine: Annotated[bool, Query(description="只列本人撰寫的")] = False,
) -> Page[CounselingPublic]:
    """Newest first: all for the admin, a counselor's own, a 導師's classes' (403 for a student)."""
    items, total = await service.listing(
        session, reader=reader, query=query, mine=mine, paging=paging
    )
    return page_of(items, total, paging)


@router.get("/counseling/{record_id:uuid}", response_model=CounselingPublic, summary="課程諮詢紀錄")
async def read_counseling(
    record_id: uuid.UUID, session: SessionDep, reader: GuidanceReader
) -> CounselingPublic:
    """One record, for whoever may list it; anyone else gets 404."""
    record = await service.readable(session, reader, record_id)
    return await service.public_view(session, record, service.sight(reader))


@router.patch(
    "/counseling/{record_id:uuid}", response_model=CounselingPublic, summary="修改課程諮詢紀錄"
)
async def update_counseling(
    record_id: uuid.UUID,
    payload: CounselingUpdate,
    session: SessionDep,
    expected: ExpectedVersion,
    me: Counselor,
) -> CounselingPublic:
    """Change only what is sent (the record is re-validated whole); only its counselor (403
    `not_your_record`). `If-Match: <version>` is optional; a stale one, or a lost race, is 409."""
    record = await service.own_record(session, me, record_id)
    await service.update(
        session,
        record=record,
        sent=payload.model_dump(exclude_unset=True),
        expected_version=expected,
        actor_id=me.person_id,
    )
    return await service.public_view(session, record, service.own_sight(me))


@router.delete(
    "/counseling/{record_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="刪除課程諮詢紀錄",
)
async def delete_counseling(record_id: uuid.UUID, session: SessionDep, me: Counselor) -> None:
    """Delete one's own record with its participants and attachment."""
    record = await service.own_record(session, me, record_id)
    await service.delete(session, record=record, actor_id=me.person_id)


@router.put(
    "/counseling/{record_id:uuid}/attachment",
    response_model=CounselingPublic,
    responses=error_responses(413, 415),
    summary="上傳課程諮詢紀錄附件",
)
async def put_attachment(
    record_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    me: Counselor,
) -> CounselingPublic:
    """The record's one attachment (pdf/jpg/png checked by content, 10 MB), replacing any."""
    record = await service.own_record(session, me, record_id)
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    await service.attach(
        session,
        storage=storage,
        bucket=settings.uploads_bucket,
        record=record,
        filename=file.filename or "upload",
        upload=file.file,
        actor_id=me.person_id,
    )
    return await service.public_view(session, record, service.own_sight(me))


@router.get(
    "/counseling/{record_id:uuid}/attachment",
    response_model=DownloadLink,
    summary="課程諮詢紀錄附件下載連結",
)
async def attachment_link(
    record_id: uuid.UUID, request: Request, session: SessionDep, reader: GuidanceReader
) -> DownloadLink:
    """A five-minute download link, for whoever may read the record."""
    record = await service.readable(session, reader, record_id)
    key = await service.attachment_key(session, record)
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    url = await storage.presigned_get(bucket=settings.uploads_bucket, key=key)
    return DownloadLink(url=url, expires_in=LINK_SECONDS)


@router.delete(
    "/counseling/{record_id:uuid}/attachment",
    response_model=CounselingPublic,
    summary="刪除課程諮詢紀錄附件",
)
async def delete_attachment(
    record_id: uuid.UUID, session: SessionDep, me: Counselor
) -> CounselingPublic:
    """Take the attachment off one's own record."""
    record = await service.own_record(session, me, record_id)
    await service.detach(session, record=record, actor_id=me.person_id)
    return await service.public_view(session, record, service.own_sight(me))
