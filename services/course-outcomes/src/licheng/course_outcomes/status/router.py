"""`GET …/status/students` (course staff and 導師) and `GET …/status/teachers` (course staff)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from licheng.contracts.permissions import Capability, Scope
from licheng.course_outcomes.access import COURSE_STAFF_SCOPES, require_course_staff
from licheng.course_outcomes.roster import repository as roster
from licheng.course_outcomes.status import repository
from licheng.course_outcomes.status.repository import StudentSort
from licheng.kit.db import SessionDep
from licheng.kit.errors import Forbidden
from licheng.kit.pagination import Page, PageParams, page_params
from licheng.kit.permissions import Grant, require

router = APIRouter(prefix="/api/course-outcomes/v1/schools/{school_code}/status", tags=["status"])
Year = Annotated[int, Query(ge=100, le=200, description="學年度")]
Semester = Annotated[int, Query(ge=1, le=2, description="學期")]


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
    academic_year: Year,
    semester: Semester,
    session: SessionDep,
    paging: Annotated[PageParams, Depends(page_params)],
    grade: Annotated[int | None, Query(ge=1, le=3)] = None,
    class_code: str | None = None,
    sort: StudentSort = StudentSort.CLASS,
    order: Literal["asc", "desc"] = "asc",
    grant: Grant = require(Capability.PORTFOLIO_READ),
) -> Page[StudentStatus]:
    """Counts per enrolled student; 導師 see their own class only."""
    class_codes: list[str] | None = [class_code] if class_code else None
    if not grant.scopes & COURSE_STAFF_SCOPES:
        if Scope.OWN_CLASS not in grant.scopes or grant.principal.person_id is None:
            raise Forbidden(
                "此功能僅限課程學習提交者、系統管理者或導師使用", code="status_forbidden"
            )
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


@router.get("/teachers", response_model=list[TeacherStatus], summary="教師認證狀況")
async def teacher_status(
    school_code: str,
    academic_year: Year,
    semester: Semester,
    session: SessionDep,
    grant: Grant = require(Capability.ROSTERS_SUBMIT),
) -> list[TeacherStatus]:
    """Pending, succeeded and failed per certifying teacher."""
    require_course_staff(grant)
    rows = await repository.teacher_counts(
        session, school_code=school_code, academic_year=academic_year, semester=semester
    )
    return [TeacherStatus(**r) for r in rows]
