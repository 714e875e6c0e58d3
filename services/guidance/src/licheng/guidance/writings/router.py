"""自傳 and 學習計畫 over HTTP: the student saves versions (text, or a PDF); the student, their
導師, counselors and the admin read them (every version for the student and the admin)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Path, Request, Response, UploadFile
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.guidance.auth import GuidanceReader, Student
from licheng.guidance.models import Writing, WritingKind
from licheng.guidance.writings import repository, service
from licheng.guidance.writings.schemas import (
    ComparisonPublic,
    DownloadLink,
    StudentWritingPublic,
    VersionPublic,
    WritingPublic,
    WritingSave,
)
from licheng.kit import roster
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.people import StudentRef
from licheng.kit.settings import ServiceSettings
from licheng.kit.storage import ObjectStorage
from licheng.kit.versioning import ExpectedVersion

router = APIRouter(
    prefix="/api/guidance/v1/schools/{school_code}",
    tags=["writings"],
    responses=error_responses(413, 415),
)
LINK_SECONDS = 300
Number = Annotated[int, Path(ge=1, le=1_000_000, description="版本號")]


async def _view(session: AsyncSession, writing: Writing) -> WritingPublic:
    current = await service.current_version(session, writing)
    return WritingPublic.of(writing.kind, writing, current)


@router.get("/me/writings", response_model=list[WritingPublic], summary="我的自傳與學習計畫")
async def my_writings(session: SessionDep, me: Student) -> list[WritingPublic]:
    """Both kinds' current state (`version` 0 for one not written yet); a list of two."""
    writings = await repository.writings_of(session, me.school_code, me.person_id)
    current = await repository.current_versions(session, me.school_code, writings)
    by_kind = {w.kind: w for w in writings}
    views = []
    for kind in WritingKind:
        writing = by_kind.get(kind)
        views.append(WritingPublic.of(kind, writing, current.get(writing.id) if writing else None))
    return views


@router.put("/me/writings/{kind}", response_model=WritingPublic, summary="儲存自傳或學習計畫")
async def save_writing(
    kind: WritingKind,
    payload: WritingSave,
    response: Response,
    session: SessionDep,
    expected: ExpectedVersion,
    me: Student,
) -> WritingPublic:
    """A new version with this text (≤ the school's limit, 422 naming `text`), inside the
    editing window (409 `window_closed`). `If-Match: <version>` (0 before the first save) is
    optional; a stale one, or a lost race, is 409 `version_conflict` and stores nothing. The
    same text as the current version changes nothing."""
    writing = await service.save_text(
        session, school_code=me.school_code, student_id=me.person_id, kind=kind,
        text=payload.text, expected_version=expected,
    )  # fmt: skip
    response.headers["ETag"] = str(writing.version)
    return await _view(session, writing)


@router.put(
    "/me/writings/{kind}/file", response_model=WritingPublic, summary="上傳自傳或學習計畫 PDF"
)
async def save_writing_file(
    kind: WritingKind,
    request: Request,
    response: Response,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    expected: ExpectedVersion,
    me: Student,
) -> WritingPublic:
    """A new version with the current text and this PDF (PDF only, checked by content, 415
    otherwise; ≤ 4 MB, 413); the window and `If-Match` as for the text."""
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    writing = await service.save_file(
        session, storage=storage, bucket=settings.uploads_bucket, school_code=me.school_code,
        student_id=me.person_id, kind=kind, filename=file.filename or "upload.pdf",
        upload=file.file, expected_version=expected,
    )  # fmt: skip
    response.headers["ETag"] = str(writing.version)
    return await _view(session, writing)


@router.get(
    "/students/{student_id:uuid}/writings/{kind}",
    response_model=StudentWritingPublic,
    summary="學生的自傳或學習計畫",
)
async def read_writing(
    student_id: uuid.UUID, kind: WritingKind, session: SessionDep, reader: GuidanceReader
) -> StudentWritingPublic:
    """The current version, for the student, their 導師, counselors and the admin; 404 for
    anyone else and for one not written yet."""
    writing = await service.readable(session, reader, student_id, kind)
    view = await _view(session, writing)
    person = await roster.get_person(session, reader.school_code, student_id)
    return StudentWritingPublic(**view.model_dump(), student=StudentRef.of(person))


@router.get(
    "/students/{student_id:uuid}/writings/{kind}/versions",
    response_model=Page[VersionPublic],
    summary="自傳或學習計畫的版本",
)
async def list_versions(
    student_id: uuid.UUID,
    kind: WritingKind,
    session: SessionDep,
    reader: GuidanceReader,
    paging: Paging,
) -> Page[VersionPublic]:
    """Newest first: every version for the student and the admin, the current one only for
    the 導師 and counselors."""
    writing = await service.readable(session, reader, student_id, kind)
    rows, total = await service.versions(session, reader, writing, paging)
    return page_of([VersionPublic.of(writing, v) for v in rows], total, paging)


@router.get(
    "/students/{student_id:uuid}/writings/{kind}/versions/{number}",
    response_model=VersionPublic,
    summary="自傳或學習計畫的一個版本",
)
async def read_version(
    student_id: uuid.UUID,
    kind: WritingKind,
    number: Number,
    session: SessionDep,
    reader: GuidanceReader,
) -> VersionPublic:
    """One version (an earlier one: the student and the admin only; 404 otherwise)."""
    writing = await service.readable(session, reader, student_id, kind)
    return VersionPublic.of(writing, await service.version_of(session, reader, writing, number))


@router.get(
    "/students/{student_id:uuid}/writings/{kind}/versions/{number}/compare",
    response_model=ComparisonPublic,
    summary="與前一版本比較",
)
async def compare_version(
    student_id: uuid.UUID,
    kind: WritingKind,
    number: Number,
    session: SessionDep,
    reader: GuidanceReader,
) -> ComparisonPublic:
    """The version, the one before it and their line diff (hunks `equal | insert | delete |
    replace` with the old and new lines), for the student and the admin."""
    writing = await service.readable(session, reader, student_id, kind)
    version, previous, hunks = await service.compare(session, reader, writing, number)
    return ComparisonPublic(
        version=VersionPublic.of(writing, version),
        previous=VersionPublic.of(writing, previous) if previous else None,
        hunks=hunks,
    )


@router.get(
    "/writings/{writing_id:uuid}/versions/{number}/file",
    response_model=DownloadLink,
    summary="版本 PDF 下載連結",
)
async def version_file(
    writing_id: uuid.UUID,
    number: Number,
    request: Request,
    session: SessionDep,
    reader: GuidanceReader,
) -> DownloadLink:
    """A five-minute link to the version's PDF, for whoever may read that version."""
    writing = await service.readable_by_id(session, reader, writing_id)
    version = await service.version_of(session, reader, writing, number)
    if version.file_key is None:
        raise service.version_not_found()
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    url = await storage.presigned_get(bucket=settings.uploads_bucket, key=version.file_key)
    return DownloadLink(url=url, expires_in=LINK_SECONDS)
