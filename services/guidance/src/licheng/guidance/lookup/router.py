"""Looking up the school's students and classes, so a counselor can pick whom a consultation
was with: 學號, name, class and seat only (the roster read model holds no 身分證號)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from licheng.guidance.auth import StudentLookup
from licheng.guidance.lookup import repository, service
from licheng.guidance.lookup.schemas import ClassSummary
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging, page_of
from licheng.kit.people import StudentRef

router = APIRouter(
    prefix="/api/guidance/v1/schools/{school_code}",
    tags=["lookup"],
    responses=error_responses(),
)
IDS_MAX = 200


@router.get("/students", response_model=Page[StudentRef], summary="查詢學生")
async def find_students(
    session: SessionDep,
    paging: Paging,
    looker: StudentLookup,
    class_code: Annotated[
        str | None, Query(min_length=1, max_length=20, description="班級代碼")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=50, description="學號或姓名包含（不分大小寫）")
    ] = None,
    ids: Annotated[
        list[uuid.UUID] | None, Query(alias="id", max_length=IDS_MAX, description="只列這些學生")
    ] = None,
) -> Page[StudentRef]:
    """Enrolled (在籍/休學) students by 班級, 座號, 學號; a 導師 sees only their classes."""
    classes = await service.visible_classes(session, looker=looker, class_code=class_code)
    people, total = await repository.students(
        session,
        looker.school_code,
        class_codes=classes,
        text=(q or "").strip() or None,
        ids=ids or [],
        paging=paging,
    )
    return page_of([StudentRef(id=p.id, student_no=p.local_no, name=p.name,
                               class_code=p.class_code, seat_no=p.seat_no)
                    for p in people], total, paging)  # fmt: skip


@router.get("/classes", response_model=Page[ClassSummary], summary="班級")
async def list_classes(
    session: SessionDep, paging: Paging, looker: StudentLookup
) -> Page[ClassSummary]:
    """Classes in use by code, with their grade and enrolled students; a 導師 sees their own."""
    classes = await service.visible_classes(session, looker=looker, class_code=None)
    rows, total = await repository.classes(
        session, looker.school_code, class_codes=classes, paging=paging
    )
    return page_of([ClassSummary(class_code=code, grade=grade, students=count)
                    for code, grade, count in rows], total, paging)  # fmt: skip
