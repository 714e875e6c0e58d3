"""`POST …/rosters/{code}/{year}/{semester}/reopen`: the admin reopens a submitted 名冊."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.performances.auth import Admin
from licheng.performances.locks import service
from licheng.performances.params import YearPath

router = APIRouter(
    prefix="/api/performances/v1/schools/{school_code}",
    tags=["locks"],
    responses=error_responses(),
)


class Reopen(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="重新開放的原因")


@router.post(
    "/rosters/{roster_code}/{academic_year}/{semester}/reopen",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="重新開放已提交鎖定的名冊",
)
async def reopen_roster(
    school_code: str,
    roster_code: Annotated[str, Path(pattern="^(24|25)$", description="名冊別 24 或 25")],
    academic_year: YearPath,
    semester: Annotated[int, Path(ge=0, le=2, description="學期（名冊 25 為 0）")],
    body: Reopen,
    session: SessionDep,
    admin: Admin,
) -> None:
    """The admin reopens a submitted 名冊 for corrections, with a reason; audited."""
    await service.reopen_roster(
        session,
        school_code=school_code,
        roster_code=roster_code,
        academic_year=academic_year,
        semester=semester,
        reason=body.reason.strip(),
        actor_id=admin.principal.person_id,
    )
