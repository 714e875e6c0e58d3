"""`…/imports`: the 多元項目管理者's batch import of 多元表現 records and its template."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.spreadsheet import XLSX_MEDIA_TYPE, XLSX_TEMPLATE_ANSWER, content_disposition
from licheng.performances.auth import ItemManager
from licheng.performances.imports import service
from licheng.performances.imports.service import RecordImportSummary

router = APIRouter(
    prefix="/api/performances/v1/schools/{school_code}/imports",
    tags=["imports"],
    responses=error_responses(),
)


@router.get(
    "/template",
    response_class=Response,
    responses=XLSX_TEMPLATE_ANSWER,
    summary="下載多元表現整批匯入範本",
)
async def records_template(school_code: str, session: SessionDep, grant: ItemManager) -> Response:
    """An xlsx: a 說明 sheet (codes, the active 檢定證照 items), then one sheet per category."""
    return Response(
        await service.template(session, school_code=school_code),
        media_type=XLSX_MEDIA_TYPE,
        headers={"content-disposition": content_disposition("多元表現匯入範本.xlsx",
                                                            "performances-import.xlsx")},
    )  # fmt: skip


@router.post(
    "",
    response_model=RecordImportSummary,
    responses=error_responses(413),
    summary="整批匯入多元表現紀錄（全部成功才寫入）",
)
async def import_records(
    school_code: str,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="xlsx：每個類別一個工作表")],
    grant: ItemManager,
) -> RecordImportSummary:
    """多元項目管理者 or admin. Records land in the students' self-filled items (origin
    `imported`); re-importing the same workbook creates nothing."""
    return await service.import_records(
        session,
        school_code=school_code,
        data=await file.read(),
        filename=file.filename or "upload",
        actor_id=grant.principal.person_id,
    )
