"""`GET/PUT …/parameters/{academic_year}/{semester}`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from licheng.contracts.permissions import Capability
from licheng.course_outcomes.access import require_course_staff
from licheng.course_outcomes.models import OutcomeParameters
from licheng.course_outcomes.parameters import service
from licheng.course_outcomes.parameters.service import ParametersUpdate
from licheng.kit.db import SessionDep
from licheng.kit.permissions import Grant, require
from licheng.kit.versioning import ExpectedVersion

router = APIRouter(
    prefix="/api/course-outcomes/v1/schools/{school_code}/parameters", tags=["parameters"]
)
Year = Annotated[int, Path(ge=100, le=200, description="學年度")]
Semester = Annotated[int, Path(ge=1, le=2, description="學期")]


class ParametersPublic(BaseModel):
    academic_year: int
    semester: int
    upload_from: datetime | None
    upload_until: datetime | None
    certify_from: datetime | None
    certify_until: datetime | None
    uploads_per_semester: int
    selections_per_semester: int
    files_per_outcome: int
    brief_max_chars: int
    file_limits: dict[str, int]
    version: int

    @classmethod
    def of(cls, parameters: OutcomeParameters) -> ParametersPublic:
        """The API view."""
        return cls.model_validate(parameters, from_attributes=True)


@router.get("/{academic_year}/{semester}", response_model=ParametersPublic, summary="參數設定")
async def read_parameters(
    school_code: str,
    academic_year: Year,
    semester: Semester,
    session: SessionDep,
    grant: Grant = require(Capability.PORTFOLIO_READ),
) -> ParametersPublic:
    """Anyone who reads portfolios in the school sees the term's rules."""
    return ParametersPublic.of(await service.get(session, school_code, academic_year, semester))


@router.put("/{academic_year}/{semester}", response_model=ParametersPublic, summary="修改參數設定")
async def write_parameters(
    school_code: str,
    academic_year: Year,
    semester: Semester,
    update: ParametersUpdate,
    session: SessionDep,
    expected: ExpectedVersion,
    grant: Grant = require(Capability.ROSTERS_SUBMIT),
) -> ParametersPublic:
    """課程學習提交者 or admin; send `If-Match: <version>` to avoid overwriting a colleague."""
    require_course_staff(grant)
    stored = await service.put(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        update=update,
        expected_version=expected,
        actor_id=grant.principal.person_id,
    )
    return ParametersPublic.of(stored)
