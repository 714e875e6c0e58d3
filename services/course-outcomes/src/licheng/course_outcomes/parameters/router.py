"""`GET/PUT/PATCH …/parameters/{academic_year}/{semester}`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel

from licheng.course_outcomes.auth import CourseStaff, PortfolioReader
from licheng.course_outcomes.models import OutcomeParameters
from licheng.course_outcomes.parameters import service
from licheng.course_outcomes.parameters.service import ParametersPatch, ParametersUpdate
from licheng.course_outcomes.params import SemesterPath, YearPath
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.versioning import ExpectedVersion

router = APIRouter(
    prefix="/api/course-outcomes/v1/schools/{school_code}/parameters",
    tags=["parameters"],
    responses=error_responses(),
)


class ParametersPublic(BaseModel):
    academic_year: int
    semester: int
    upload_from: datetime | None
    upload_until: datetime | None
    certify_from: datetime | None
    certify_until: datetime | None
    select_from: datetime | None
    select_until: datetime | None
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
    academic_year: YearPath,
    semester: SemesterPath,
    session: SessionDep,
    grant: PortfolioReader,
) -> ParametersPublic:
    """Anyone who reads portfolios in the school sees the term's rules."""
    return ParametersPublic.of(await service.get(session, school_code, academic_year, semester))


@router.put("/{academic_year}/{semester}", response_model=ParametersPublic, summary="修改參數設定")
async def write_parameters(
    school_code: str,
    academic_year: YearPath,
    semester: SemesterPath,
    update: ParametersUpdate,
    session: SessionDep,
    expected: ExpectedVersion,
    grant: CourseStaff,
) -> ParametersPublic:
    """The whole replacement: every field is required (a window bound may be null).

    課程學習提交者 or admin; send `If-Match: <version>` to avoid overwriting a colleague.
    """
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


_PATCH_AS_JSON = {"schema": {"$ref": "#/components/schemas/ParametersPatch"}}


@router.patch(
    "/{academic_year}/{semester}",
    response_model=ParametersPublic,
    summary="修改部分參數設定",
    openapi_extra={"requestBody": {"content": {"application/json": _PATCH_AS_JSON}}},
)
async def patch_parameters(
    school_code: str,
    academic_year: YearPath,
    semester: SemesterPath,
    change: Annotated[ParametersPatch, Body(media_type="application/merge-patch+json")],
    session: SessionDep,
    expected: ExpectedVersion,
    grant: CourseStaff,
) -> ParametersPublic:
    """A JSON merge patch (`application/merge-patch+json` or `application/json`).

    Only the fields sent change; `null` clears a window bound, and in `file_limits` removes that
    kind. The result is checked as a whole. Send `If-Match: <version>`.
    """
    stored = await service.patch(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        change=change,
        expected_version=expected,
        actor_id=grant.principal.person_id,
    )
    return ParametersPublic.of(stored)
