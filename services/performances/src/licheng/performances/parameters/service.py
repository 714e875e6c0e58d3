"""Reading and changing a year's 多元表現 parameters (seed 4-3 item 1; docs/domain.md §1.3–1.4).

Defaults when unset: fill and 勾選 windows closed (a school opens them), 10 selections per
academic year, 3 proof files per record, 內容簡述 ≤ 100 characters, pdf/jpg/png ≤ 4 MB and
mp3/mp4 ≤ 10 MB.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.files import DEFAULT_FILE_LIMITS
from licheng.kit.changes import record_change
from licheng.kit.errors import Conflict
from licheng.kit.merge_patch import apply_merge_patch
from licheng.kit.storage import FileKind, UploadPolicy
from licheng.kit.timeutil import AwareUtcDatetime, utcnow
from licheng.kit.windows import check_window as check_window
from licheng.performances.models import PerformanceParameters
from licheng.performances.parameters import repository

MAX_FILE_BYTES = 50 * 1024 * 1024
WINDOW_FIELDS = frozenset({"fill_from", "fill_until", "select_from", "select_until"})

SelectionsCap = Annotated[int, Field(ge=0, le=30)]
FilesCap = Annotated[int, Field(ge=1, le=10)]
BriefCap = Annotated[int, Field(ge=10, le=2000)]
FileLimit = Annotated[int, Field(gt=0, le=MAX_FILE_BYTES, description="位元組")]


class ParametersUpdate(BaseModel):
    """A year's whole parameters (PUT): every field required; a window bound may be null."""

    model_config = ConfigDict(extra="forbid")

    fill_from: AwareUtcDatetime | None
    fill_until: AwareUtcDatetime | None
    select_from: AwareUtcDatetime | None
    select_until: AwareUtcDatetime | None
    selections_per_year: SelectionsCap
    files_per_record: FilesCap
    brief_max_chars: BriefCap
    file_limits: Annotated[dict[FileKind, FileLimit], Field(min_length=1)]

    @field_validator("fill_until", "select_until")
    @classmethod
    def _ends_after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get((info.field_name or "").replace("_until", "_from"))
        if start is not None and end is not None and end <= start:
            raise ValueError("結束時間須晚於開始時間")
        return end


class ParametersPatch(BaseModel):
    """A JSON merge patch (RFC 7396) of a year's parameters: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    fill_from: AwareUtcDatetime | None = None
    fill_until: AwareUtcDatetime | None = None
    select_from: AwareUtcDatetime | None = None
    select_until: AwareUtcDatetime | None = None
    selections_per_year: SelectionsCap | None = None
    files_per_record: FilesCap | None = None
    brief_max_chars: BriefCap | None = None
    file_limits: dict[FileKind, FileLimit | None] | None = None


def defaults(school_code: str, academic_year: int) -> PerformanceParameters:
    """The parameters of a year nobody has set yet."""
    return PerformanceParameters(
        school_code=school_code,
        academic_year=academic_year,
        file_limits=dict(DEFAULT_FILE_LIMITS),
        version=0,
    )


async def get(session: AsyncSession, school_code: str, academic_year: int) -> PerformanceParameters:
    """The stored parameters, or the defaults."""
    stored = await repository.stored_parameters(session, school_code, academic_year)
    return stored or defaults(school_code, academic_year)


def upload_policy(parameters: PerformanceParameters) -> UploadPolicy:
    """The upload policy the parameters describe."""
    return UploadPolicy(max_bytes={FileKind(k): int(v) for k, v in parameters.file_limits.items()})


def _snapshot(parameters: PerformanceParameters) -> dict[str, Any]:
    return {
        key: (value.isoformat() if isinstance(value, datetime) else value)
        for key, value in parameters.model_dump(exclude={"updated_at"}).items()
    }


async def write(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    change: ParametersUpdate | ParametersPatch,
    expected_version: int | None,
    actor_id: uuid.UUID | None,
) -> PerformanceParameters:
    """Replace (PUT) or patch a year's parameters; a stale `If-Match` version is a 409."""
    stored = await repository.stored_parameters(session, school_code, academic_year)
    current_version = stored.version if stored else 0
    if expected_version is not None and expected_version != current_version:
        raise Conflict(
            "參數已被其他人修改，請重新整理後再試",
            code="version_conflict",
            detail={"current_version": current_version},
        )
    before = _snapshot(stored) if stored else None
    target = stored or defaults(school_code, academic_year)
    if isinstance(change, ParametersUpdate):
        whole = change
    else:
        current = {name: getattr(target, name) for name in ParametersUpdate.model_fields}
        whole = apply_merge_patch(
            current,
            change.model_dump(exclude_unset=True),
            model=ParametersUpdate,
            nullable=WINDOW_FIELDS,
        )
    if stored is None:
        session.add(target)
    for field, value in whole.model_dump(exclude={"file_limits"}).items():
        setattr(target, field, value)
    target.file_limits = {kind.value: size for kind, size in whole.file_limits.items()}
    target.updated_at = utcnow()
    await session.flush()  # a conditional UPDATE (`version_id_col`): a lost race is a 409
    record_change(
        session,
        school_code=school_code,
        actor_id=actor_id,
        entity="parameters",
        entity_id=str(academic_year),
        action="parameters.updated",
        before=before,
        after=_snapshot(target),
    )
    return target
