"""`GET …/status/{students,classes}` and each as `….xlsx` (every row).

Both lists are for 多元表現提交者, 校內幹部提交者 and the admin (the whole school) and for 導師
(their own classes only). A download takes the same filters and access rules as its list: both
are built from one query dependency.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.responses import StreamingResponse

from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.roster import visible_classes
from licheng.kit.spreadsheet import XLSX_ANSWER, TemporaryFileResponse
from licheng.performances.auth import StatusViewer, reads_school_wide
from licheng.performances.models import Category
from licheng.performances.params import YearQuery
from licheng.performances.status import exports, repository
from licheng.performances.status.repository import (
    ClassQuery,
    SchoolYear,
    StudentQuery,
    StudentSort,
)

router = APIRouter(
    prefix="/api/performances/v1/schools/{school_code}/status",
    tags=["status"],
    responses=error_responses(),
)

GradeQuery = Annotated[int | None, Query(ge=1, le=3, description="年級")]
ClassCodeQuery = Annotated[str | None, Query(min_length=1, max_length=20, description="班級代碼")]
ByCategory = Annotated[
    dict[str, int], Field(description="各類別已填寫筆數（類別代碼 → 筆數，十類都列出）")
]


class StudentStatus(BaseModel):
    id: uuid.UUID
    local_no: str = Field(description="學號")
    name: str = Field(description="姓名")
    class_code: str | None = Field(description="班級")
    seat_no: int | None = Field(description="座號")
    grade: int | None = Field(description="年級")
    filled: int = Field(description="已填寫（學生自填與整批匯入）")
    selected: int = Field(description="已勾選")
    cadres: int = Field(description="校內幹部紀錄（名冊 24，本學年兩學期）")
    proof_missing: int = Field(description="未附證明文件的紀錄")
    by_category: ByCategory


class ClassStatus(BaseModel):
    class_code: str = Field(description="班級")
    grade: int | None = Field(description="年級")
    homeroom_id: uuid.UUID | None = Field(description="導師")
    homeroom_name: str | None = Field(description="導師姓名")
    students: int = Field(description="在籍、休學學生數")
    students_with_records: int = Field(description="本學年至少有一筆多元表現的學生數")
    filled: int = Field(description="已填寫")
    selected: int = Field(description="已勾選")
    cadres: int = Field(description="校內幹部紀錄")
    proof_missing: int = Field(description="未附證明文件的紀錄")
    by_category: ByCategory


def _year(school_code: str, academic_year: YearQuery) -> SchoolYear:
    """The school and academic year of the path and query string."""
    return SchoolYear(school_code, academic_year)


YearDep = Annotated[SchoolYear, Depends(_year)]


async def _student_query(
    year: YearDep,
    session: SessionDep,
    grant: StatusViewer,
    grade: GradeQuery = None,
    class_code: ClassCodeQuery = None,
    category: Annotated[Category | None, Query(description="只計此類別的紀錄")] = None,
    sort: StudentSort = StudentSort.CLASS,
    order: Literal["asc", "desc"] = "asc",
) -> StudentQuery:
    """學生 list filters, held to a 導師's own classes."""
    return StudentQuery(
        year=year,
        grade=grade,
        class_codes=await visible_classes(
            session, grant, school_wide=reads_school_wide(grant), class_code=class_code
        ),
        category=category,
        sort=sort,
        descending=order == "desc",
    )


async def _class_query(
    year: YearDep,
    session: SessionDep,
    grant: StatusViewer,
    grade: GradeQuery = None,
    class_code: ClassCodeQuery = None,
) -> ClassQuery:
    """Class list filters, held to a 導師's own classes."""
    classes = await visible_classes(
        session, grant, school_wide=reads_school_wide(grant), class_code=class_code
    )
    return ClassQuery(year=year, grade=grade, class_codes=classes)


Students = Annotated[StudentQuery, Depends(_student_query)]
Classes = Annotated[ClassQuery, Depends(_class_query)]


# The downloads are declared first: `/students.xlsx` is never read as another route's path.


@router.get(
    "/students.xlsx", response_class=StreamingResponse, responses=XLSX_ANSWER,
    summary="下載學生多元表現填寫狀況（xlsx）",
)  # fmt: skip
async def student_status_xlsx(query: Students, session: SessionDep) -> TemporaryFileResponse:
    """Every matching student's counts as a workbook."""
    fetch = partial(repository.students, session, query=query)
    return await exports.download(exports.STUDENTS, query, fetch=fetch)


@router.get(
    "/classes.xlsx", response_class=StreamingResponse, responses=XLSX_ANSWER,
    summary="下載班級多元表現填寫狀況（xlsx）",
)  # fmt: skip
async def class_status_xlsx(query: Classes, session: SessionDep) -> TemporaryFileResponse:
    """Every visible class's counts as a workbook."""
    fetch = partial(repository.classes, session, query=query)
    return await exports.download(exports.CLASSES, query, fetch=fetch)


@router.get("/students", response_model=Page[StudentStatus], summary="學生多元表現填寫狀況")
async def student_status(
    query: Students, session: SessionDep, paging: Paging
) -> Page[StudentStatus]:
    """Counts per enrolled student for the year; 導師 see their own classes only."""
    rows = await repository.students(session, query=query, offset=paging.offset, limit=paging.limit)
    total = await repository.count_students(session, query=query)
    return page_of([StudentStatus(**r) for r in rows], total, paging)


@router.get("/classes", response_model=Page[ClassStatus], summary="班級多元表現填寫狀況")
async def class_status(query: Classes, session: SessionDep, paging: Paging) -> Page[ClassStatus]:
    """Per class: its 導師, students and summed counts; 導師 see their own classes only."""
    rows = await repository.classes(session, query=query, offset=paging.offset, limit=paging.limit)
    total = await repository.count_classes(session, query=query)
    return page_of([ClassStatus(**r) for r in rows], total, paging)
