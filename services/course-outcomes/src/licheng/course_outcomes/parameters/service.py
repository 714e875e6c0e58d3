"""Reading and changing a term's parameters; defaults follow the rules (docs/domain.md §1.3–1.4)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, Field, model_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.files import DEFAULT_FILE_LIMITS
from licheng.course_outcomes.models import OutcomeParameters
from licheng.course_outcomes.parameters import repository
from licheng.kit.changes import record_change
from licheng.kit.errors import Conflict, WindowClosed
from licheng.kit.storage import FileKind, UploadPolicy
from licheng.kit.timeutil import TAIPEI, AwareUtcDatetime, utcnow

MAX_FILE_BYTES = 50 * 1024 * 1024


class ParametersUpdate(BaseModel):
    upload_from: AwareUtcDatetime | None = None
    upload_until: AwareUtcDatetime | None = None
    certify_from: AwareUtcDatetime | None = None
    certify_until: AwareUtcDatetime | None = None
    uploads_per_semester: int = Field(default=10, ge=1, le=100)
    selections_per_semester: int = Field(default=3, ge=0, le=20)
    files_per_outcome: int = Field(default=2, ge=1, le=10)
    brief_max_chars: int = Field(default=100, ge=10, le=2000)
    file_limits: dict[FileKind, int] = Field(
        default_factory=lambda: {FileKind(k): v for k, v in DEFAULT_FILE_LIMITS.items()}
    )

    @model_validator(mode="after")
    def _sane(self) -> Self:
        for start, end in (
            (self.upload_from, self.upload_until),
            (self.certify_from, self.certify_until),
        ):
            if start and end and end <= start:
                raise ValueError("a window must end after it starts")
        if not self.file_limits or any(
            not 0 < v <= MAX_FILE_BYTES for v in self.file_limits.values()
        ):
            raise ValueError("file limits must be between 1 byte and 50 MB")
        return self


def defaults(school_code: str, academic_year: int, semester: int) -> OutcomeParameters:
    """The parameters of a term nobody has set yet: windows closed, rules' caps and limits."""
    return OutcomeParameters(
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        file_limits=dict(DEFAULT_FILE_LIMITS),
        version=0,
    )


async def get(
    session: AsyncSession, school_code: str, academic_year: int, semester: int
) -> OutcomeParameters:
    """The stored parameters, or the defaults."""
    stored = await repository.stored_parameters(session, school_code, academic_year, semester)
    return stored or defaults(school_code, academic_year, semester)


def _snapshot(parameters: OutcomeParameters) -> dict[str, Any]:
    return {
        key: (value.isoformat() if isinstance(value, datetime) else value)
        for key, value in parameters.model_dump(exclude={"updated_at"}).items()
    }


async def put(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    update: ParametersUpdate,
    expected_version: int | None,
    actor_id: uuid.UUID | None,
) -> OutcomeParameters:
    """Replace a term's parameters; a stale `If-Match` version is a 409."""
    stored = await repository.stored_parameters(session, school_code, academic_year, semester)
    current_version = stored.version if stored else 0
    if expected_version is not None and expected_version != current_version:
        raise Conflict(
            "參數已被其他人修改，請重新整理後再試",
            code="version_conflict",
            detail={"current_version": current_version},
        )
    before = _snapshot(stored) if stored else None
    if stored is None:
        stored = defaults(school_code, academic_year, semester)
        session.add(stored)
    for field, value in update.model_dump(exclude={"file_limits"}).items():
        setattr(stored, field, value)
    stored.file_limits = {kind.value: size for kind, size in update.file_limits.items()}
    stored.updated_at = utcnow()
    await session.flush()
    record_change(
        session,
        school_code=school_code,
        actor_id=actor_id,
        entity="parameters",
        entity_id=f"{academic_year}-{semester}",
        action="parameters.updated",
        before=before,
        after=_snapshot(stored),
    )
    return stored


def upload_policy(parameters: OutcomeParameters) -> UploadPolicy:
    """The upload policy the parameters describe."""
    return UploadPolicy(max_bytes={FileKind(k): int(v) for k, v in parameters.file_limits.items()})


def _format(moment: datetime | None) -> str:
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M") if moment else "未設定"


def check_window(
    start: datetime | None, end: datetime | None, *, what: str, now: datetime | None = None
) -> None:
    """WindowClosed (409) naming the window unless `now` lies inside it."""
    now = now or utcnow()
    if start is None or end is None or not start <= now < end:
        raise WindowClosed(
            f"目前不在{what}期間（{_format(start)} 至 {_format(end)}）",
            detail={
                "from": start.isoformat() if start else None,
                "until": end.isoformat() if end else None,
            },
        )
