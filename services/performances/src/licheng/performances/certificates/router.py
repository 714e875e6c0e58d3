"""`…/certificates`: the 檢定證照 catalog — everyone in the school reads it, the 證照項目管理者
(or the admin) adds, changes, deactivates and imports items."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, UploadFile, status
from fastapi.responses import Response

from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging
from licheng.kit.spreadsheet import XLSX_MEDIA_TYPE, XLSX_TEMPLATE_ANSWER, content_disposition
from licheng.performances.auth import CertificateManager, SchoolMember
from licheng.performances.certificates import service
from licheng.performances.certificates.parsing import template_xlsx
from licheng.performances.certificates.schemas import (
    CatalogImportSummary,
    CertificateCreate,
    CertificatePatch,
    CertificatePublic,
)

router = APIRouter(
    prefix="/api/performances/v1/schools/{school_code}/certificates",
    tags=["certificates"],
    responses=error_responses(),
)
CodePath = Annotated[str, Path(min_length=1, max_length=80, description="證照代碼")]


@router.get("", response_model=Page[CertificatePublic], summary="檢定證照清單")
async def list_certificates(
    school_code: str,
    session: SessionDep,
    paging: Paging,
    grant: SchoolMember,
    q: Annotated[str | None, Query(max_length=100, description="證照代碼或名稱包含的文字")] = None,
    active: Annotated[
        bool | None, Query(description="只列出啟用（true）或停用（false）的項目")
    ] = None,
) -> Page[CertificatePublic]:
    """Anyone who reads portfolios in the school; by code. Students' dropdown: `active=true`."""
    return await service.list_certificates(
        session, school_code=school_code, q=q, active=active, paging=paging
    )


@router.post(
    "",
    response_model=CertificatePublic,
    status_code=status.HTTP_201_CREATED,
    summary="新增檢定證照項目",
)
async def create_certificate(
    school_code: str, new: CertificateCreate, session: SessionDep, grant: CertificateManager
) -> CertificatePublic:
    """證照項目管理者 or admin; 409 `certificate_exists` when the code is taken."""
    certificate = await service.create_certificate(
        session, school_code=school_code, new=new, actor_id=grant.principal.person_id
    )
    return CertificatePublic.of(certificate)


@router.get(
    "/template",
    response_class=Response,
    responses=XLSX_TEMPLATE_ANSWER,
    summary="下載檢定證照清單匯入範本",
)
async def catalog_template(school_code: str, grant: CertificateManager) -> Response:
    """An xlsx with the columns the catalog import expects."""
    return Response(
        template_xlsx(),
        media_type=XLSX_MEDIA_TYPE,
        headers={"content-disposition": content_disposition("檢定證照清單範本.xlsx",
                                                            "certificates.xlsx")},
    )  # fmt: skip


@router.post(
    "/imports",
    response_model=CatalogImportSummary,
    responses=error_responses(413),
    summary="匯入完整的檢定證照清單（全部成功才寫入）",
)
async def import_catalog(
    school_code: str,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="xlsx 或 CSV（UTF-8 / Big5）")],
    grant: CertificateManager,
) -> CatalogImportSummary:
    """The whole catalog: items in the file are added or updated, items missing from it are
    deactivated (never deleted); re-importing the same file changes nothing."""
    return await service.import_catalog(
        session,
        school_code=school_code,
        data=await file.read(),
        filename=file.filename or "upload",
        actor_id=grant.principal.person_id,
    )


@router.get("/{code}", response_model=CertificatePublic, summary="檢定證照項目")
async def read_certificate(
    school_code: str, code: CodePath, session: SessionDep, grant: SchoolMember
) -> CertificatePublic:
    """One item, active or not (a record may use a deactivated item)."""
    return CertificatePublic.of(
        await service.get_certificate(session, school_code=school_code, code=code)
    )


@router.patch("/{code}", response_model=CertificatePublic, summary="修改或停用檢定證照項目")
async def update_certificate(
    school_code: str,
    code: CodePath,
    patch: CertificatePatch,
    session: SessionDep,
    grant: CertificateManager,
) -> CertificatePublic:
    """Only the fields sent change; `"active": false` deactivates (items are never deleted)."""
    certificate = await service.update_certificate(
        session,
        school_code=school_code,
        code=code,
        patch=patch,
        actor_id=grant.principal.person_id,
    )
    return CertificatePublic.of(certificate)
