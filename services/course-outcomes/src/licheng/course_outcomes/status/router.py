"""`GET …/status/students` (course staff and 導師) and `GET …/status/teachers` (course staff)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from licheng.course_outcomes.auth import CourseStaff, StatusViewer, is_course_staff
from licheng.course_outcomes.params import SemesterQuery, YearQuery
from licheng.course_outcomes.roster import repository as roster
from licheng.course_outcomes.status import repository
from licheng.course_outcomes.status.repository import StudentSort
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, PageParams, Paging, page_of, page_params

router = APIRouter(
    prefix="/api/course-outcomes/v1/schools/{school_code}/status",
    tags=["status"],
    responses=error_responses(),
)


class StudentStatus(BaseModel):
    id: uuid.UUID
    local_no: str
    name: str
    class_code: str | None
    grade: int | None
    filled: int
    submitted: int
    certified: int
    failed: int
    selected: int


class TeacherStatus(BaseModel):
    certifier_id: uuid.UUID
    local_no: str | None
    name: str | None
    pending: int
    succeeded: int
    failed: int


@router.get("/students", response_model=Page[StudentStatus], summary="學生填寫狀況")
async def student_status(
    school_code: str,
    academic_year: YearQuery,
    semester: SemesterQuery,
    session: SessionDep,
    paging: Annotated[PageParams, Depends(page_params)],
    grant: StatusViewer,
    grade: Annotated[int | None, Query(ge=1, le=3)] = None,
    class_code: str | None = None,
    sort: StudentSort = StudentSort.CLASS,
    order: Literal["asc", "desc"] = "asc",
) -> Page[StudentStatus]:
    """Counts per enrolled student; 導師 see their own class only."""
    class_codes: list[str] | None = [class_code] if class_code else None
    if not is_course_staff(grant) and grant.principal.person_id is not None:
        mine = await roster.homeroom_classes(session, school_code, grant.principal.person_id)
        class_codes = [c for c in (class_codes or mine) if c in mine]
    rows, total = await repository.student_counts(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        grade=grade,
        class_codes=class_codes,
        sort=sort,
        descending=order == "desc",
        offset=paging.offset,
        limit=paging.limit,
    )
    return Page(
        items=[StudentStatus(**r) for r in rows], next_cursor=paging.next_cursor(total), total=total
    )


@router.get("/teachers", response_model=Page[TeacherStatus], summary="教師認證狀況")
async def teacher_status(
    school_code: str,
    academic_year: YearQuery,
    semester: SemesterQuery,
    session: SessionDep,
    paging: Paging,
    grant: CourseStaff,
) -> Page[TeacherStatus]:
    """Pending, succeeded and failed per certifying teacher."""
    rows, total = await repository.teacher_counts(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        offset=paging.offset,
        limit=paging.limit,
    )
    return page_of([TeacherStatus(**r) for r in rows], total, paging)
