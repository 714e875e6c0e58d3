"""多元表現 over HTTP: the categories (for forms), a student's own records, proof files and
勾選; reading a record for the school's staff and the student's 導師."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.settings import ServiceSettings
from licheng.kit.storage import ObjectStorage
from licheng.kit.versioning import ExpectedVersion
from licheng.performances.auth import SchoolMember, StatusViewer, Student
from licheng.performances.categories import CATEGORIES
from licheng.performances.models import Category, Performance
from licheng.performances.params import YearQuery
from licheng.performances.records import repository, selection, service, views
from licheng.performances.records.schemas import (
    CategoryPublic,
    DownloadLink,
    PerformanceCreate,
    PerformancePublic,
    PerformanceUpdate,
    SelectionPublic,
    SelectionUpdate,
)

router = APIRouter(
    prefix="/api/performances/v1/schools/{school_code}",
    tags=["performances"],
    responses=error_responses(413, 415, 423),
)


@router.get(
    "/categories",
    response_model=list[CategoryPublic],
    tags=["categories"],
    summary="多元表現類別與欄位",
)
async def list_categories(grant: SchoolMember) -> list[CategoryPublic]:
    """Every category with its title, central sheet and fields, for the portal's forms (a
    fixed list of ten, so not paginated)."""
    return [CategoryPublic.of(spec) for spec in CATEGORIES.values()]


@router.get("/me/performances", response_model=Page[PerformancePublic], summary="我的多元表現")
async def my_records(
    session: SessionDep,
    me: Student,
    paging: Paging,
    academic_year: Annotated[int | None, Query(ge=100, le=200, description="學年度")] = None,
    category: Annotated[Category | None, Query(description="類別")] = None,
) -> Page[PerformancePublic]:
    """The student's records (self-filled and imported), by year then oldest first."""
    records, total = await repository.student_records(
        session,
        me.school_code,
        me.person_id,
        academic_year=academic_year,
        category=category,
        paging=paging,
    )
    return page_of(await views.public_views(session, me.school_code, records), total, paging)


@router.post(
    "/performances",
    status_code=status.HTTP_201_CREATED,
    response_model=PerformancePublic,
    summary="新增多元表現",
)
async def create_record(
    payload: PerformanceCreate, request: Request, response: Response, session: SessionDep,
    me: Student,
) -> PerformancePublic:  # fmt: skip
    """A self-filled record, inside the year's fill window; every refused field is named
    (422 `request_invalid`, `detail[].loc` = body.fields.<name>)."""
    record = await service.create(
        session, school_code=me.school_code, student_id=me.person_id, payload=payload
    )
    response.headers["Location"] = request.app.url_path_for(
        "read_record", school_code=me.school_code, record_id=record.id
    )
    return await views.public_view(session, record)


@router.get(
    "/performances", response_model=Page[PerformancePublic], summary="學生的多元表現（教職員）"
)
async def student_records(
    session: SessionDep,
    grant: StatusViewer,
    paging: Paging,
    student_id: Annotated[uuid.UUID, Query(description="學生")],
    academic_year: Annotated[int | None, Query(ge=100, le=200, description="學年度")] = None,
    category: Annotated[Category | None, Query(description="類別")] = None,
) -> Page[PerformancePublic]:
    """One student's records (self-filled and imported), by year then oldest first: any student
    for school-wide staff, the students of their classes for a 導師; 404 otherwise."""
    records, total = await service.staff_student_records(
        session, grant=grant, student_id=student_id, academic_year=academic_year,
        category=category, paging=paging,
    )  # fmt: skip
    return page_of(await views.public_views(session, grant.school_code, records), total, paging)


@router.get("/performances/{record_id:uuid}", response_model=PerformancePublic, summary="多元表現")
async def read_record(
    record_id: uuid.UUID, session: SessionDep, grant: SchoolMember
) -> PerformancePublic:
    """The student's own; any for school-wide performance or cadre staff; the 導師's class.
    Anyone else gets 404."""
    record = await service.readable(session, grant, record_id)
    return await views.public_view(session, record)


@router.patch(
    "/performances/{record_id:uuid}", response_model=PerformancePublic, summary="修改多元表現"
)
async def update_record(
    record_id: uuid.UUID,
    payload: PerformanceUpdate,
    session: SessionDep,
    expected: ExpectedVersion,
    me: Student,
) -> PerformancePublic:
    """Change only what is sent (fields merge key by key); the whole record is re-validated.
    `If-Match: <version>` is optional; a stale one, or a lost race, is 409."""
    record = await service.own_record(session, me.school_code, record_id, me.person_id)
    await service.update(
        session, record=record, payload=payload, expected_version=expected, actor_id=me.person_id
    )
    return await views.public_view(session, record)


@router.delete(
    "/performances/{record_id:uuid}", status_code=status.HTTP_204_NO_CONTENT, summary="刪除多元表現"
)
async def delete_record(record_id: uuid.UUID, session: SessionDep, me: Student) -> None:
    """Delete a self-filled record; an imported one is 409 `imported_record_undeletable`."""
    record = await service.own_record(session, me.school_code, record_id, me.person_id)
    await service.delete(session, record=record, actor_id=me.person_id)


@router.post(
    "/performances/{record_id:uuid}/files",
    status_code=status.HTTP_201_CREATED,
    response_model=PerformancePublic,
    summary="上傳證明文件",
)
async def add_file(
    record_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    me: Student,
) -> PerformancePublic:
    """One more proof file (pdf/jpg/png or mp3/mp4, checked by content; sizes from the
    parameters), up to the files per record (409 `too_many_files`); `Location` names it."""
    record = await service.own_record(session, me.school_code, record_id, me.person_id)
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    stored = await service.add_file(
        session,
        storage=storage,
        bucket=settings.uploads_bucket,
        record=record,
        filename=file.filename or "upload",
        upload=file.file,
        actor_id=me.person_id,
    )
    response.headers["Location"] = request.app.url_path_for(
        "file_link", school_code=me.school_code, record_id=record.id, file_id=stored.id
    )
    return await views.public_view(session, record)


@router.get(
    "/performances/{record_id:uuid}/files/{file_id:uuid}",
    response_model=DownloadLink,
    summary="證明文件下載連結",
)
async def file_link(
    record_id: uuid.UUID,
    file_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    grant: SchoolMember,
) -> DownloadLink:
    """A five-minute download link, for whoever may read the record."""
    record = await service.readable(session, grant, record_id)
    return await views.download_link(request, session, record, file_id)


@router.delete(
    "/performances/{record_id:uuid}/files/{file_id:uuid}",
    response_model=PerformancePublic,
    summary="刪除證明文件",
)
async def delete_file(
    record_id: uuid.UUID, file_id: uuid.UUID, session: SessionDep, me: Student
) -> PerformancePublic:
    """Take a proof file off the record, inside the fill window."""
    record = await service.own_record(session, me.school_code, record_id, me.person_id)
    await service.remove_file(session, record=record, file_id=file_id, actor_id=me.person_id)
    return await views.public_view(session, record)


@router.put("/me/selections", response_model=SelectionPublic, summary="勾選提交的多元表現")
async def select_records(
    payload: SelectionUpdate, session: SessionDep, me: Student
) -> SelectionPublic:
    """Replace the year's selection: at most the parameters' cap, own records of that year only;
    校內幹部 records never count."""
    chosen, rules = await selection.set_selection(
        session, school_code=me.school_code, student_id=me.person_id, payload=payload
    )
    return await _selection_view(session, me.school_code, payload.academic_year, chosen,
                                 rules.selections_per_year)  # fmt: skip


@router.get("/me/selections", response_model=SelectionPublic, summary="我的勾選")
async def my_selection(
    academic_year: YearQuery, session: SessionDep, me: Student
) -> SelectionPublic:
    """The year's selected records and the counter (已勾選 selected 項 / 最多 limit 項)."""
    chosen, rules = await selection.current_selection(
        session, school_code=me.school_code, student_id=me.person_id, academic_year=academic_year
    )
    return await _selection_view(session, me.school_code, academic_year, chosen,
                                 rules.selections_per_year)  # fmt: skip


async def _selection_view(
    session: AsyncSession,
    school_code: str,
    academic_year: int,
    chosen: list[Performance],
    limit: int,
) -> SelectionPublic:
    return SelectionPublic(
        academic_year=academic_year,
        limit=limit,
        selected=len(chosen),
        items=await views.public_views(session, school_code, chosen),
    )
