"""校內幹部 records over HTTP (seed 4-4): import, sync, lists, counts, and the student's view.

- `POST …/cadres/imports`, `GET …/cadres/template`, `DELETE …/cadres/{id}`: 校內幹部提交者 or admin.
- `POST …/cadres/sync`: a 校務行政系統 with a service token (client credentials) only.
- `GET …/cadres`, `…/cadres/counts`, `…/cadres/counts/classes`: cadre or performance staff
  school-wide, or a 導師 for their own classes.
- `GET …/me/cadres`: the student's own records, read-only (there is no student write).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile, status
from fastapi.responses import Response

from licheng.contracts.schools import is_school_code
from licheng.kit.auth import Principal
from licheng.kit.db import SessionDep
from licheng.kit.errors import NotFound, error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.permissions import require_service
from licheng.kit.spreadsheet import XLSX_MEDIA_TYPE, XLSX_TEMPLATE_ANSWER, content_disposition
from licheng.performances.auth import CadreStaff, StatusViewer, Student
from licheng.performances.cadres import repository, service
from licheng.performances.cadres.parsing import template_xlsx
from licheng.performances.cadres.repository import CadreQuery
from licheng.performances.cadres.schemas import (
    CadreImportSummary,
    CadrePublic,
    CadreSync,
    ClassCadreCount,
    StudentCadreCount,
)

router = APIRouter(
    prefix="/api/performances/v1/schools/{school_code}",
    tags=["cadres"],
    responses=error_responses(423),
)

OptionalYear = Annotated[int | None, Query(ge=100, le=200, description="學年度")]
OptionalSemester = Annotated[int | None, Query(ge=1, le=2, description="學期")]
ClassCodeQuery = Annotated[str | None, Query(min_length=1, max_length=20, description="班級代碼")]


@router.post(
    "/cadres/imports",
    response_model=CadreImportSummary,
    summary="匯入校內幹部資料（全部成功才寫入）",
    responses=error_responses(413, 423),
)
async def import_cadres(
    school_code: str,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="xlsx 或 CSV（UTF-8 / Big5）")],
    grant: CadreStaff,
) -> CadreImportSummary:
    """校內幹部提交者 or admin; rows of a term whose 名冊 24 is locked refuse the whole file."""
    return await service.import_cadres(
        session,
        school_code=school_code,
        data=await file.read(),
        filename=file.filename or "upload",
        actor_id=grant.principal.person_id,
    )


@router.get(
    "/cadres/template",
    response_class=Response,
    responses=XLSX_TEMPLATE_ANSWER,
    summary="下載校內幹部匯入範本",
)
async def cadres_template(school_code: str, grant: CadreStaff) -> Response:
    """An xlsx with the pilot template's columns and a 說明 sheet."""
    return Response(
        template_xlsx(),
        media_type=XLSX_MEDIA_TYPE,
        headers={"content-disposition": content_disposition("校內幹部匯入範本.xlsx",
                                                            "cadres-template.xlsx")},
    )  # fmt: skip


@router.post(
    "/cadres/sync",
    response_model=CadreImportSummary,
    summary="（服務專用）校務行政系統轉入校內幹部資料",
)
async def sync_cadres(
    school_code: str,
    body: CadreSync,
    session: SessionDep,
    caller: Principal = require_service(),
) -> CadreImportSummary:
    """Client-credentials tokens only; all or nothing, problems listed by index and field."""
    if not is_school_code(school_code):
        raise NotFound("找不到指定的學校", code="school_not_found")
    return await service.sync_cadres(
        session,
        school_code=school_code,
        records=[record.model_dump() for record in body.records],
        actor_id=caller.person_id,
        client_id=caller.client_id,
    )


@router.get("/cadres", response_model=Page[CadrePublic], summary="校內幹部紀錄查詢")
async def list_cadres(
    school_code: str,
    session: SessionDep,
    paging: Paging,
    grant: StatusViewer,
    academic_year: OptionalYear = None,
    semester: OptionalSemester = None,
    class_code: ClassCodeQuery = None,
    student_id: uuid.UUID | None = None,
) -> Page[CadrePublic]:
    """Records with each student's 學號, 姓名, 班級, 座號; a 導師 sees only their classes."""
    query = CadreQuery(
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        class_codes=await service.visible_classes(session, grant, class_code),
        student_id=student_id,
    )
    rows, total = await repository.page_of_cadres(session, query, paging)
    return page_of([CadrePublic.of(c, p) for c, p in rows], total, paging)


@router.get("/cadres/counts", response_model=Page[StudentCadreCount], summary="學生幹部數量查詢")
async def student_counts(
    school_code: str,
    session: SessionDep,
    paging: Paging,
    grant: StatusViewer,
    academic_year: OptionalYear = None,
    semester: OptionalSemester = None,
    class_code: ClassCodeQuery = None,
) -> Page[StudentCadreCount]:
    """Each student's number of records (and per 幹部等級); a 導師 sees only their classes."""
    query = CadreQuery(
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        class_codes=await service.visible_classes(session, grant, class_code),
    )
    rows, total = await repository.student_counts(session, query, paging)
    return page_of([StudentCadreCount.model_validate(r) for r in rows], total, paging)


@router.get(
    "/cadres/counts/classes", response_model=Page[ClassCadreCount], summary="班級幹部數量查詢"
)
async def class_counts(
    school_code: str,
    session: SessionDep,
    paging: Paging,
    grant: StatusViewer,
    academic_year: OptionalYear = None,
    semester: OptionalSemester = None,
    class_code: ClassCodeQuery = None,
) -> Page[ClassCadreCount]:
    """Each class's students and records; a 導師 sees only their classes."""
    query = CadreQuery(
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        class_codes=await service.visible_classes(session, grant, class_code),
    )
    rows, total = await repository.class_counts(session, query, paging)
    return page_of([ClassCadreCount.model_validate(r) for r in rows], total, paging)


@router.delete(
    "/cadres/{cadre_id}", status_code=status.HTTP_204_NO_CONTENT, summary="刪除校內幹部紀錄"
)
async def delete_cadre(
    school_code: str, cadre_id: uuid.UUID, session: SessionDep, grant: CadreStaff
) -> None:
    """校內幹部提交者 or admin; not while the term's 名冊 24 is locked."""
    await service.delete_cadre(
        session, school_code=school_code, cadre_id=cadre_id, actor_id=grant.principal.person_id
    )


@router.get("/me/cadres", response_model=Page[CadrePublic], summary="我的校內幹部紀錄")
async def my_cadres(
    session: SessionDep, paging: Paging, me: Student, academic_year: OptionalYear = None
) -> Page[CadrePublic]:
    """The student's own records as the school registered them; read-only."""
    query = CadreQuery(
        school_code=me.school_code, academic_year=academic_year, student_id=me.person_id
    )
    rows, total = await repository.page_of_cadres(session, query, paging)
    return page_of([CadrePublic.of(c, p) for c, p in rows], total, paging)
