"""`POST …/terms/{year}/{semester}/reopen`: the admin reopens a submitted term."""

from __future__ import annotations

from fastapi import APIRouter, status

from licheng.course_outcomes.auth import Admin
from licheng.course_outcomes.locks import service
from licheng.course_outcomes.params import SemesterPath, YearPath
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses

router = APIRouter(
    prefix="/api/course-outcomes/v1/schools/{school_code}",
    tags=["locks"],
    responses=error_responses(),
)


@router.post(
    "/terms/{academic_year}/{semester}/reopen",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="重新開放已提交鎖定的學期",
)
async def reopen_term(
    school_code: str,
    academic_year: YearPath,
    semester: SemesterPath,
    session: SessionDep,
    admin: Admin,
) -> None:
    """The admin reopens a submitted term for corrections; audited."""
    await service.reopen_term(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        actor_id=admin.principal.person_id,
    )
