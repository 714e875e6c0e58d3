"""`GET/PUT/PATCH …/parameters/{academic_year}`: 多元表現 參數設定 (seed 4-3 item 1)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel

from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.versioning import ExpectedVersion
from licheng.performances.auth import PerformanceStaff, SchoolMember
from licheng.performances.models import PerformanceParameters
from licheng.performances.parameters import service
from licheng.performances.parameters.service import ParametersPatch, ParametersUpdate
from licheng.performances.params import YearPath

router = APIRouter(
    prefix="/api/performances/v1/schools/{school_code}/parameters",
    tags=["parameters"],
    responses=error_responses(),
)


class ParametersPublic(BaseModel):
    academic_year: int
    fill_from: datetime | None
    fill_until: datetime | None
    select_from: datetime | None
    select_until: datetime | None
    selections_per_year: int
    files_per_record: int
    brief_max_chars: int
    file_limits: dict[str, int]
    version: int

    @classmethod
    def of(cls, parameters: PerformanceParameters) -> ParametersPublic:
        """The API view."""
        return cls.model_validate(parameters, from_attributes=True)


@router.get("/{academic_year}", response_model=ParametersPublic, summary="多元表現參數設定")
async def read_parameters(
    school_code: str, academic_year: YearPath, session: SessionDep, grant: SchoolMember
) -> ParametersPublic:
    """Anyone who reads portfolios in the school sees the year's rules."""
    return ParametersPublic.of(await service.get(session, school_code, academic_year))


@router.put("/{academic_year}", response_model=ParametersPublic, summary="修改多元表現參數設定")
async def put_parameters(
    school_code: str,
    academic_year: YearPath,
    update: ParametersUpdate,
    session: SessionDep,
    expected: ExpectedVersion,
    grant: PerformanceStaff,
) -> ParametersPublic:
    """多元表現提交者 or admin: every field; send `If-Match: <version>`."""
    stored = await service.write(
        session,
        school_code=school_code,
        academic_year=academic_year,
        change=update,
        expected_version=expected,
        actor_id=grant.principal.person_id,
    )
    return ParametersPublic.of(stored)


_PATCH_AS_JSON = {"schema": {"$ref": "#/components/schemas/ParametersPatch"}}


@router.patch(
    "/{academic_year}",
    response_model=ParametersPublic,
    summary="修改部分多元表現參數設定",
    openapi_extra={"requestBody": {"content": {"application/json": _PATCH_AS_JSON}}},
)
async def patch_parameters(
    school_code: str,
    academic_year: YearPath,
    change: Annotated[ParametersPatch, Body(media_type="application/merge-patch+json")],
    session: SessionDep,
    expected: ExpectedVersion,
    grant: PerformanceStaff,
) -> ParametersPublic:
    """A JSON merge patch: only the fields sent change; `null` clears a window bound, and in
    `file_limits` removes that kind; the result is checked as a whole."""
    stored = await service.write(
        session,
        school_code=school_code,
        academic_year=academic_year,
        change=change,
        expected_version=expected,
        actor_id=grant.principal.person_id,
    )
    return ParametersPublic.of(stored)
