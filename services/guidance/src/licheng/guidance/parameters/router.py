"""`GET/PATCH …/parameters`: the 自傳與學習計畫 editing window and length limit."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel

from licheng.guidance.auth import Admin, GuidanceReader
from licheng.guidance.models import GuidanceParameters
from licheng.guidance.parameters import service
from licheng.guidance.parameters.service import ParametersPatch
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.versioning import ExpectedVersion

router = APIRouter(
    prefix="/api/guidance/v1/schools/{school_code}/parameters",
    tags=["parameters"],
    responses=error_responses(),
)


class ParametersPublic(BaseModel):
    write_from: datetime | None
    write_until: datetime | None
    max_chars: int
    version: int

    @classmethod
    def of(cls, parameters: GuidanceParameters) -> ParametersPublic:
        """The API view."""
        return cls.model_validate(parameters, from_attributes=True)


@router.get("", response_model=ParametersPublic, summary="自傳與學習計畫參數設定")
async def read_parameters(
    school_code: str, session: SessionDep, reader: GuidanceReader
) -> ParametersPublic:
    """Anyone who reads guidance in the school (students included) sees the window."""
    return ParametersPublic.of(await service.get(session, school_code))


_PATCH_AS_JSON = {"schema": {"$ref": "#/components/schemas/ParametersPatch"}}


@router.patch(
    "",
    response_model=ParametersPublic,
    summary="修改自傳與學習計畫參數設定",
    openapi_extra={"requestBody": {"content": {"application/json": _PATCH_AS_JSON}}},
)
async def patch_parameters(
    school_code: str,
    change: Annotated[ParametersPatch, Body(media_type="application/merge-patch+json")],
    session: SessionDep,
    expected: ExpectedVersion,
    grant: Admin,
) -> ParametersPublic:
    """Admin only. A JSON merge patch: `null` clears a window bound (both or neither are set;
    the end after the start); send `If-Match: <version>` (0 before the first change)."""
    stored = await service.patch(
        session,
        school_code=school_code,
        change=change,
        expected_version=expected,
        actor_id=grant.principal.person_id,
    )
    return ParametersPublic.of(stored)
