"""Reading and changing the school's guidance parameters: the 自傳與學習計畫 editing window and
the length limit of a writing.

Defaults when unset: no window (editing always open) and 3000 characters. A window is both
bounds or neither: a half-set window is refused (422), so "open" never depends on guessing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.guidance.models import GuidanceParameters
from licheng.guidance.parameters import repository
from licheng.kit.changes import record_change
from licheng.kit.errors import Conflict
from licheng.kit.merge_patch import apply_merge_patch
from licheng.kit.timeutil import AwareUtcDatetime, utcnow
from licheng.kit.windows import check_window

WRITE = "自傳與學習計畫編輯"
WINDOW_FIELDS = frozenset({"write_from", "write_until"})

MaxChars = Annotated[int, Field(ge=100, le=20000, description="自傳、學習計畫的字數上限")]


class ParametersUpdate(BaseModel):
    """The school's whole parameters: a window bound may be null (both or neither)."""

    model_config = ConfigDict(extra="forbid")

    write_from: AwareUtcDatetime | None
    write_until: AwareUtcDatetime | None
    max_chars: MaxChars

    @field_validator("write_until")
    @classmethod
    def _whole_window(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("write_from")
        if (start is None) != (end is None):
            raise ValueError("編輯期間須同時設定開始與結束時間（或都不設定）")
        if start is not None and end is not None and end <= start:
            raise ValueError("結束時間須晚於開始時間")
        return end


class ParametersPatch(BaseModel):
    """A JSON merge patch (RFC 7396) of the parameters: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    write_from: AwareUtcDatetime | None = None
    write_until: AwareUtcDatetime | None = None
    max_chars: MaxChars | None = None


def defaults(school_code: str) -> GuidanceParameters:
    """The parameters of a school that has set none."""
    return GuidanceParameters(school_code=school_code, version=0)


async def get(session: AsyncSession, school_code: str) -> GuidanceParameters:
    """The stored parameters, or the defaults."""
    return await repository.stored_parameters(session, school_code) or defaults(school_code)


def check_writing_window(parameters: GuidanceParameters) -> None:
    """WindowClosed (409) naming the window, when one is set and now lies outside it."""
    if parameters.write_from is None and parameters.write_until is None:
        return
    check_window(parameters.write_from, parameters.write_until, what=WRITE)


def _snapshot(parameters: GuidanceParameters) -> dict[str, Any]:
    return {
        key: (value.isoformat() if isinstance(value, datetime) else value)
        for key, value in parameters.model_dump(exclude={"updated_at"}).items()
    }


async def patch(
    session: AsyncSession,
    *,
    school_code: str,
    change: ParametersPatch,
    expected_version: int | None,
    actor_id: uuid.UUID | None,
) -> GuidanceParameters:
    """Merge a patch into the parameters and check the whole; a stale `If-Match` is a 409."""
    stored = await repository.stored_parameters(session, school_code)
    current_version = stored.version if stored else 0
    if expected_version is not None and expected_version != current_version:
        raise Conflict(
            "參數已被其他人修改，請重新整理後再試",
            code="version_conflict",
            detail={"current_version": current_version},
        )
    target = stored or defaults(school_code)
    current = {name: getattr(target, name) for name in ParametersUpdate.model_fields}
    whole = apply_merge_patch(
        current, change.model_dump(exclude_unset=True), model=ParametersUpdate,
        nullable=WINDOW_FIELDS,
    )  # fmt: skip
    if stored is not None and all(getattr(stored, k) == v for k, v in whole):
        return stored  # nothing changes: no write, no audit row
    before = _snapshot(stored) if stored else None
    if stored is None:
        target.version = 1
        session.add(target)
    for field, value in whole:
        setattr(target, field, value)
    target.updated_at = utcnow()
    await session.flush()  # a conditional UPDATE (`version_id_col`): a lost race is a 409
    record_change(
        session,
        school_code=school_code,
        actor_id=actor_id,
        entity="parameters",
        entity_id=school_code,
        action="parameters.updated",
        before=before,
        after=_snapshot(target),
    )
    return target
