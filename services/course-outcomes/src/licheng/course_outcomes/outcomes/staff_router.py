"""`GET …/outcomes`: the term's outcomes for staff — course staff the school, 導師 their classes.

Read-only; each item names the student (學號, 姓名, 班級, 座號) and the certifying teacher, so a
導師 drills down from the status counts to a student's outcomes.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from licheng.course_outcomes.auth import StatusViewer, is_course_staff
from licheng.course_outcomes.models import OutcomeStatus
from licheng.course_outcomes.outcomes import repository, views
from licheng.course_outcomes.outcomes.repository import OutcomeFilter, OutcomeSort
from licheng.course_outcomes.outcomes.schemas import OutcomePublic
from licheng.course_outcomes.params import SemesterQuery, YearQuery
from licheng.kit import roster
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.pagination import Page, Paging, page_of

router = APIRouter(
    prefix="/api/course-outcomes/v1/schools/{school_code}",
    tags=["outcomes"],
    responses=error_responses(),
)


@router.get("/outcomes", response_model=Page[OutcomePublic], summary="全校（或本班）課程學習成果")
async def list_outcomes(
    school_code: str,
    academic_year: YearQuery,
    semester: SemesterQuery,
    session: SessionDep,
    paging: Paging,
    grant: StatusViewer,
    class_code: Annotated[str | None, Query(max_length=20, description="班級")] = None,
    section_id: Annotated[uuid.UUID | None, Query(description="課程（開課）")] = None,
    course_code: Annotated[str | None, Query(max_length=23, description="課程代碼")] = None,
    state: Annotated[OutcomeStatus | None, Query(alias="status", description="狀態")] = None,
    certifier_id: Annotated[uuid.UUID | None, Query(description="認證教師")] = None,
    student_id: Annotated[uuid.UUID | None, Query(description="學生")] = None,
    selected: Annotated[bool | None, Query(description="已勾選")] = None,
    sort: OutcomeSort = OutcomeSort.CLASS,
    order: Literal["asc", "desc"] = "asc",
) -> Page[OutcomePublic]:
    """Filter by class, course, status, teacher, student; 導師 see their own classes only."""
    class_codes = await roster.visible_classes(
        session, grant, school_wide=is_course_staff(grant), class_code=class_code
    )
    where = OutcomeFilter(
        academic_year=academic_year,
        semester=semester,
        statuses=[state] if state is not None else None,
        certifier_ids=[certifier_id] if certifier_id is not None else None,
        class_codes=class_codes,
        section_id=section_id,
        course_code=course_code,
        student_id=student_id,
        selected=selected,
    )
    outcomes, total = await repository.find_outcomes(
        session, school_code, where, paging, sort=sort, descending=order == "desc"
    )
    items = await views.public_views(session, school_code, [o.id for o in outcomes])
    return page_of(items, total, paging)
