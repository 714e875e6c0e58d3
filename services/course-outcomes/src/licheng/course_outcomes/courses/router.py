"""`POST …/course-records/imports` and its template; the term's sections for course staff."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from licheng.course_outcomes.auth import CourseStaff
from licheng.course_outcomes.courses import repository, service
from licheng.course_outcomes.courses.parsing import template_xlsx
from licheng.course_outcomes.params import SemesterQuery, YearQuery
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.spreadsheet import XLSX_TEMPLATE_ANSWER

router = APIRouter(
    prefix="/api/course-outcomes/v1/schools/{school_code}",
    tags=["courses"],
    responses=error_responses(413),
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("/course-records/imports", summary="匯入修課紀錄（全部成功才寫入）")
async def import_course_records(
    school_code: str,
    academic_year: YearQuery,
    semester: SemesterQuery,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="xlsx 或 CSV（UTF-8 / Big5）")],
    grant: CourseStaff,
) -> dict[str, Any]:
    """課程學習提交者 or admin."""
    summary = await service.import_course_records(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        data=await file.read(),
        filename=file.filename or "upload",
        actor_id=grant.principal.person_id,
    )
    return asdict(summary)


@router.get(
    "/course-records/template",
    response_class=Response,
    responses=XLSX_TEMPLATE_ANSWER,
    summary="下載修課紀錄匯入範本",
)
async def course_records_template(school_code: str, grant: CourseStaff) -> Response:
    """An xlsx with the columns the import expects."""
    return Response(
        template_xlsx(),
        media_type=XLSX,
        headers={"content-disposition": 'attachment; filename="course-records.xlsx"'},
    )


class SectionPublic(BaseModel):
    id: uuid.UUID
    course_code: str
    subject_name: str
    credits: int
    grade: int
    teacher_no: str
    teacher_id: uuid.UUID | None
    certifier_id: uuid.UUID | None


@router.get("/sections", response_model=Page[SectionPublic], summary="本學期開課")
async def list_sections(
    school_code: str,
    academic_year: YearQuery,
    semester: SemesterQuery,
    session: SessionDep,
    paging: Paging,
    grant: CourseStaff,
) -> Page[SectionPublic]:
    """The term's course sections and their certifying teachers."""
    sections, total = await repository.page_of_sections(
        session, school_code, academic_year, semester, paging
    )
    items = [SectionPublic.model_validate(s, from_attributes=True) for s in sections]
    return page_of(items, total, paging)
