"""Reading and changing a term's parameters; defaults follow the rules (docs/domain.md §1.3–1.4)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.files import DEFAULT_FILE_LIMITS
from licheng.course_outcomes.models import OutcomeParameters
from licheng.course_outcomes.parameters import repository
from licheng.kit.changes import record_change
from licheng.kit.errors import Conflict
from licheng.kit.merge_patch import apply_merge_patch
from licheng.kit.storage import FileKind, UploadPolicy
from licheng.kit.timeutil import AwareUtcDatetime, utcnow
from licheng.kit.windows import check_window as check_window

MAX_FILE_BYTES = 50 * 1024 * 1024

# The three windows, as (start field, end field): 學生上傳, 教師認證, 學生勾選.
WINDOWS = (
    ("upload_from", "upload_until"),
    ("certify_from", "certify_until"),
    ("select_from", "select_until"),
)
WINDOW_FIELDS = frozenset(name for window in WINDOWS for name in window)

UploadsCap = Annotated[int, Field(ge=1, le=100)]
SelectionsCap = Annotated[int, Field(ge=0, le=20)]
FilesCap = Annotated[int, Field(ge=1, le=10)]
BriefCap = Annotated[int, Field(ge=10, le=2000)]
FileLimit = Annotated[int, Field(gt=0, le=MAX_FILE_BYTES, description="位元組")]


class ParametersUpdate(BaseModel):
    """A term's whole parameters (PUT): every field required; a window bound may be null."""

    model_config = ConfigDict(extra="forbid")

    upload_from: AwareUtcDatetime | None
    upload_until: AwareUtcDatetime | None
    certify_from: AwareUtcDatetime | None
    certify_until: AwareUtcDatetime | None
    select_from: AwareUtcDatetime | None
    select_until: AwareUtcDatetime | None
    uploads_per_semester: UploadsCap
    selections_per_semester: SelectionsCap
    files_per_outcome: FilesCap
    brief_max_chars: BriefCap
    file_limits: Annotated[dict[FileKind, FileLimit], Field(min_length=1)]

    @field_validator("upload_until", "certify_until", "select_until")
    @classmethod
    def _ends_after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get((info.field_name or "").replace("_until", "_from"))
        if start is not None and end is not None and end <= start:
            raise ValueError("結束時間須晚於開始時間")
        return end


class ParametersPatch(BaseModel):
    """A JSON merge patch (RFC 7396) of a term's parameters: only the fields sent change.

    `null` clears a window bound; in `file_limits` it removes that kind.
    """

    model_config = ConfigDict(extra="forbid")

    upload_from: AwareUtcDatetime | None = None
    upload_until: AwareUtcDatetime | None = None
    certify_from: AwareUtcDatetime | None = None
    certify_until: AwareUtcDatetime | None = None
    select_from: AwareUtcDatetime | None = None
    select_until: AwareUtcDatetime | None = None
    uploads_per_semester: UploadsCap | None = None
    selections_per_semester: SelectionsCap | None = None
    files_per_outcome: FilesCap | None = None
    brief_max_chars: BriefCap | None = None
    file_limits: dict[FileKind, FileLimit | None] | None = None


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


def _merged(stored: OutcomeParameters, patch: ParametersPatch) -> ParametersUpdate:
    """The stored parameters with the patch applied, validated as a whole (422 naming fields)."""
    current = {name: getattr(stored, name) for name in ParametersUpdate.model_fields}
    return apply_merge_patch(
        current,
        patch.model_dump(exclude_unset=True),
        model=ParametersUpdate,
        nullable=WINDOW_FIELDS,
    )


async def _write(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    change: ParametersUpdate | ParametersPatch,
    expected_version: int | None,
    actor_id: uuid.UUID | None,
) -> OutcomeParameters:
    stored = await repository.stored_parameters(session, school_code, academic_year, semester)
    current_version = stored.version if stored else 0
    if expected_version is not None and expected_version != current_version:
        raise Conflict(
            "參數已被其他人修改，請重新整理後再試",
            code="version_conflict",
            detail={"current_version": current_version},
        )
    before = _snapshot(stored) if stored else None
    target = stored or defaults(school_code, academic_year, semester)
    whole = change if isinstance(change, ParametersUpdate) else _merged(target, change)
    if stored is None:
        session.add(target)
    for field, value in whole.model_dump(exclude={"file_limits"}).items():
        setattr(target, field, value)
    target.file_limits = {kind.value: size for kind, size in whole.file_limits.items()}
    target.updated_at = utcnow()
    # A conditional UPDATE (`version_id_col`): a colleague's write in between is a 409.
    await session.flush()
    record_change(
        session,
        school_code=school_code,
        actor_id=actor_id,
        entity="parameters",
        entity_id=f"{academic_year}-{semester}",
        action="parameters.updated",
        before=before,
        after=_snapshot(target),
    )
    return target


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
    return await _write(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        change=update,
        expected_version=expected_version,
        actor_id=actor_id,
    )


async def patch(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    change: ParametersPatch,
    expected_version: int | None,
    actor_id: uuid.UUID | None,
) -> OutcomeParameters:
    """Change only the fields sent (merge patch), validated as a whole; stale `If-Match` is 409."""
    return await _write(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        change=change,
        expected_version=expected_version,
        actor_id=actor_id,
    )


def upload_policy(parameters: OutcomeParameters) -> UploadPolicy:
    """The upload policy the parameters describe."""
    return UploadPolicy(max_bytes={FileKind(k): int(v) for k, v in parameters.file_limits.items()})
