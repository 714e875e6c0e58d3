"""People, classes, imports and the student's own contact fields."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.identity.auth import (
    Importer,
    PortfolioReader,
    ProfileOwner,
    SchoolAdmin,
    StudentVisibility,
)
from licheng.identity.crypto import PiiCipher
from licheng.identity.deps import SCHOOL, CipherDep
from licheng.identity.imports import ImportKind, template_xlsx
from licheng.identity.models import PersonKind
from licheng.identity.people import imports, profile, repository
from licheng.identity.people.schemas import ClassPublic, PersonPublic, ProfileUpdate
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, PageParams, page_of, page_params
from licheng.kit.spreadsheet import XLSX_TEMPLATE_ANSWER

router = APIRouter(prefix=SCHOOL, tags=["people"], responses=error_responses(413))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_NAMES = {
    ImportKind.STUDENTS: "students-template.xlsx",
    ImportKind.STAFF: "staff-template.xlsx",
    ImportKind.CLASSES: "classes-template.xlsx",
}
PageDep = Annotated[PageParams, Depends(page_params)]


@router.post("/imports/{kind}", summary="匯入學生、教職員或班級（全部成功才寫入）")
async def import_file(
    school_code: str,
    kind: ImportKind,
    session: SessionDep,
    cipher: CipherDep,
    file: Annotated[UploadFile, File(description="xlsx 或 CSV（UTF-8 / Big5）")],
    grant: Importer,
) -> dict[str, Any]:
    """Validate the whole file, then upsert every row; any problem writes nothing."""
    data = await file.read()
    filename = file.filename or "upload"
    actor = grant.principal.person_id
    if kind == ImportKind.STUDENTS:
        summary = await imports.import_students(
            session,
            school_code=school_code,
            data=data,
            filename=filename,
            cipher=cipher,
            actor_id=actor,
        )
    elif kind == ImportKind.STAFF:
        summary = await imports.import_staff(
            session, school_code=school_code, data=data, filename=filename, actor_id=actor
        )
    else:
        summary = await imports.import_classes(
            session, school_code=school_code, data=data, filename=filename, actor_id=actor
        )
    return asdict(summary)


@router.get(
    "/imports/{kind}/template",
    response_class=Response,
    responses=XLSX_TEMPLATE_ANSWER,
    summary="下載匯入範本",
)
async def import_template(school_code: str, kind: ImportKind, grant: Importer) -> Response:
    """An xlsx with the columns the import expects."""
    return Response(
        template_xlsx(kind),
        media_type=XLSX,
        headers={"content-disposition": f'attachment; filename="{TEMPLATE_NAMES[kind]}"'},
    )


@router.get("/students", response_model=Page[PersonPublic], summary="學生名單")
async def list_students(
    school_code: str,
    session: SessionDep,
    cipher: CipherDep,
    paging: PageDep,
    visible: StudentVisibility,
) -> Page[PersonPublic]:
    """Students the caller may see: all, their homeroom class, or themselves (`?class_code=`)."""
    return await _people_page(
        session,
        cipher,
        paging,
        school_code,
        PersonKind.STUDENT,
        visible.class_codes,
        visible.person_id,
        contact=visible.contact,
    )


@router.get("/staff", response_model=Page[PersonPublic], summary="教職員名單")
async def list_staff(
    school_code: str,
    session: SessionDep,
    cipher: CipherDep,
    paging: PageDep,
    grant: SchoolAdmin,
) -> Page[PersonPublic]:
    """The school's staff (for granting roles)."""
    return await _people_page(session, cipher, paging, school_code, PersonKind.STAFF, None, None)


async def _people_page(
    session: AsyncSession,
    cipher: PiiCipher,
    paging: PageParams,
    school_code: str,
    kind: PersonKind,
    class_codes: list[str] | None,
    person_id: uuid.UUID | None,
    *,
    contact: bool = True,
) -> Page[PersonPublic]:
    people, total = await repository.list_people(
        session,
        school_code,
        kind=kind,
        class_codes=class_codes,
        person_id=person_id,
        paging=paging,
    )
    return Page(
        items=[PersonPublic.of(p, cipher, contact=contact) for p in people],
        next_cursor=paging.next_cursor(total),
        total=total,
    )


@router.get("/classes", response_model=Page[ClassPublic], summary="班級")
async def list_classes(
    school_code: str, session: SessionDep, paging: PageDep, grant: PortfolioReader
) -> Page[ClassPublic]:
    """The school's classes and their 導師."""
    classes, total = await repository.list_classes(session, school_code, paging)
    return page_of([ClassPublic.of(c) for c in classes], total, paging)


@router.get("/me/profile", response_model=PersonPublic, summary="我的學生資料")
async def read_profile(
    school_code: str,
    session: SessionDep,
    cipher: CipherDep,
    grant: ProfileOwner,
) -> PersonPublic:
    """The student's own record."""
    person = await profile.own_record(session, grant=grant)
    return PersonPublic.of(person, cipher)


@router.patch("/me/profile", response_model=PersonPublic, summary="更新我的聯絡資料")
async def update_profile(
    school_code: str,
    update: ProfileUpdate,
    session: SessionDep,
    cipher: CipherDep,
    grant: ProfileOwner,
) -> PersonPublic:
    """Change email, phone or address; official fields come only from imports."""
    person = await profile.update_contact(session, grant=grant, update=update)
    return PersonPublic.of(person, cipher)
