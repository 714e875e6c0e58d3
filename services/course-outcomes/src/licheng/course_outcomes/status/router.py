"""`GET …/status/{students,teachers,courses,classes}` and each as `….xlsx` (every row).

學生 and 班級 lists are for course staff and 導師 (their own classes only); 教師 and 課程
lists are for course staff. A download takes the same filters and access rules as its list:
both are built from one query dependency.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.responses import StreamingResponse

from licheng.course_outcomes.auth import CourseStaff, StatusViewer, is_course_staff
from licheng.course_outcomes.params import SemesterQuery, YearQuery
from licheng.course_outcomes.status import exports, repository
from licheng.course_outcomes.status.repository import (
    ClassQuery,
    CourseQuery,
    StudentQuery,
    StudentSort,
    TeacherQuery,
    Term,
)
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.roster import visible_classes
from licheng.kit.spreadsheet import XLSX_ANSWER, TemporaryFileResponse

router = APIRouter(
    prefix="/api/course-outcomes/v1/schools/{school_code}/status",
    tags=["status"],
    responses=error_responses(),
)

GradeQuery = Annotated[int | None, Query(ge=1, le=3, description="年級")]
ClassCodeQuery = Annotated[str | None, Query(min_length=1, max_length=20, description="班級代碼")]
CourseCodeQuery = Annotated[str | None, Query(min_length=1, max_length=23, description="課程代碼")]


class StudentStatus(BaseModel):
    id: uuid.UUID
    local_no: str = Field(description="學號")
    name: str
    class_code: str | None
    seat_no: int | None = Field(description="座號")
    grade: int | None
    filled: int
    submitted: int = Field(description="認證中")
    certified: int
    failed: int
    selected: int
    last_submitted_at: datetime | None = Field(description="最近送審時間")


class TeacherStatus(BaseModel):
    certifier_id: uuid.UUID
    local_no: str | None = Field(description="教師編號")
    name: str | None
    pending: int
    succeeded: int
    failed: int
    last_decided_at: datetime | None = Field(description="最近認證決定時間")


class CourseStatus(BaseModel):
    section_id: uuid.UUID
    course_code: str
    subject_name: str
    grade: int = Field(description="開課年級")
    teacher_id: uuid.UUID | None = Field(description="授課教師")
    teacher_no: str = Field(description="授課教師的教師編號")
    teacher_name: str | None
    certifier_id: uuid.UUID | None = Field(description="認證教師")
    certifier_name: str | None
    students: int = Field(description="修課學生數")
    filled: int
    submitted: int = Field(description="認證中")
    certified: int
    failed: int
    selected: int


class ClassStatus(BaseModel):
    class_code: str
    grade: int | None
    homeroom_id: uuid.UUID | None = Field(description="導師")
    homeroom_name: str | None
    students: int = Field(description="在籍、休學學生數")
    students_with_outcomes: int = Field(description="本學期至少有一筆成果的學生數")
    filled: int
    submitted: int = Field(description="認證中")
    certified: int
    failed: int
    selected: int


def _term(school_code: str, academic_year: YearQuery, semester: SemesterQuery) -> Term:
    """The school and term of the path and query string."""
    return Term(school_code, academic_year, semester)


TermDep = Annotated[Term, Depends(_term)]


async def _student_query(
    term: TermDep,
    session: SessionDep,
    grant: StatusViewer,
    grade: GradeQuery = None,
    class_code: ClassCodeQuery = None,
    course_code: CourseCodeQuery = None,
    sort: StudentSort = StudentSort.CLASS,
    order: Literal["asc", "desc"] = "asc",
) -> StudentQuery:
    """學生 list filters, held to a 導師's own classes."""
    return StudentQuery(
        term=term,
        grade=grade,
        class_codes=await visible_classes(
            session, grant, school_wide=is_course_staff(grant), class_code=class_code
        ),
        course_code=course_code.strip().upper() if course_code else None,
        sort=sort,
        descending=order == "desc",
    )


async def _teacher_query(
    term: TermDep,
    grant: CourseStaff,
    teacher_id: Annotated[uuid.UUID | None, Query(description="認證教師")] = None,
) -> TeacherQuery:
    """Teacher list filters (course staff only)."""
    return TeacherQuery(term=term, teacher_ids=None if teacher_id is None else [teacher_id])


async def _course_query(
    term: TermDep,
    grant: CourseStaff,
    course_code: CourseCodeQuery = None,
    teacher_id: Annotated[uuid.UUID | None, Query(description="認證教師")] = None,
) -> CourseQuery:
    """Course list filters (course staff only)."""
    code = course_code.strip().upper() if course_code else None
    return CourseQuery(term=term, course_code=code, certifier_id=teacher_id)


async def _class_query(
    term: TermDep,
    session: SessionDep,
    grant: StatusViewer,
    grade: GradeQuery = None,
    class_code: ClassCodeQuery = None,
) -> ClassQuery:
    """Class list filters, held to a 導師's own classes."""
    classes = await visible_classes(
        session, grant, school_wide=is_course_staff(grant), class_code=class_code
    )
    return ClassQuery(term=term, grade=grade, class_codes=classes)


Students = Annotated[StudentQuery, Depends(_student_query)]
Teachers = Annotated[TeacherQuery, Depends(_teacher_query)]
Courses = Annotated[CourseQuery, Depends(_course_query)]
Classes = Annotated[ClassQuery, Depends(_class_query)]


# The downloads are declared first: `/students.xlsx` is never read as another route's path.


@router.get(
    "/students.xlsx", response_class=StreamingResponse, responses=XLSX_ANSWER,
    summary="下載學生填寫狀況（xlsx）",
)  # fmt: skip
async def student_status_xlsx(query: Students, session: SessionDep) -> TemporaryFileResponse:
    """Every matching student's counts as a workbook."""

    fetch = partial(repository.students, session, query=query)
    return await exports.download(exports.STUDENTS, query, fetch=fetch)


@router.get(
    "/teachers.xlsx", response_class=StreamingResponse, responses=XLSX_ANSWER,
    summary="下載教師認證狀況（xlsx）",
)  # fmt: skip
async def teacher_status_xlsx(query: Teachers, session: SessionDep) -> TemporaryFileResponse:
    """Every certifying teacher's counts as a workbook."""

    fetch = partial(repository.teachers, session, query=query)
    return await exports.download(exports.TEACHERS, query, fetch=fetch)


@router.get(
    "/courses.xlsx", response_class=StreamingResponse, responses=XLSX_ANSWER,
    summary="下載課程填寫狀況（xlsx）",
)  # fmt: skip
async def course_status_xlsx(query: Courses, session: SessionDep) -> TemporaryFileResponse:
    """Every matching section's counts as a workbook."""

    fetch = partial(repository.courses, session, query=query)
    return await exports.download(exports.COURSES, query, fetch=fetch)


@router.get(
    "/classes.xlsx", response_class=StreamingResponse, responses=XLSX_ANSWER,
    summary="下載班級填寫狀況（xlsx）",
)  # fmt: skip
async def class_status_xlsx(query: Classes, session: SessionDep) -> TemporaryFileResponse:
    """Every visible class's counts as a workbook."""

    fetch = partial(repository.classes, session, query=query)
    return await exports.download(exports.CLASSES, query, fetch=fetch)


@router.get("/students", response_model=Page[StudentStatus], summary="學生填寫狀況")
async def student_status(
    query: Students, session: SessionDep, paging: Paging
) -> Page[StudentStatus]:
    """Counts per enrolled student; 導師 see their own classes only."""
    rows = await repository.students(session, query=query, offset=paging.offset, limit=paging.limit)
    total = await repository.count_students(session, query=query)
    return page_of([StudentStatus(**r) for r in rows], total, paging)


@router.get("/teachers", response_model=Page[TeacherStatus], summary="教師認證狀況")
async def teacher_status(
    query: Teachers, session: SessionDep, paging: Paging
) -> Page[TeacherStatus]:
    """Pending, succeeded and failed per certifying teacher."""
    rows = await repository.teachers(session, query=query, offset=paging.offset, limit=paging.limit)
    total = await repository.count_teachers(session, query=query)
    return page_of([TeacherStatus(**r) for r in rows], total, paging)


@router.get("/courses", response_model=Page[CourseStatus], summary="課程填寫狀況")
async def course_status(query: Courses, session: SessionDep, paging: Paging) -> Page[CourseStatus]:
    """Per section of the term: its teachers, enrolled students and outcome counts."""
    rows = await repository.courses(session, query=query, offset=paging.offset, limit=paging.limit)
    total = await repository.count_courses(session, query=query)
    return page_of([CourseStatus(**r) for r in rows], total, paging)


@router.get("/classes", response_model=Page[ClassStatus], summary="班級填寫狀況")
async def class_status(query: Classes, session: SessionDep, paging: Paging) -> Page[ClassStatus]:
    """Per class: its 導師, students and outcome counts; 導師 see their own classes only."""
    rows = await repository.classes(session, query=query, offset=paging.offset, limit=paging.limit)
    total = await repository.count_classes(session, query=query)
    return page_of([ClassStatus(**r) for r in rows], total, paging)
