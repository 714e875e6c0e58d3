"""Request and response shapes of certification: batches and 代理人."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import BaseModel, Field, model_validator

from licheng.course_outcomes.models import CertifierDelegation, KnownPerson
from licheng.course_outcomes.outcomes.schemas import Decision, StaffRef
from licheng.kit.timeutil import AwareUtcDatetime

BATCH_LIMIT = 200


class BatchDecision(Decision):
    """One decision for several outcomes: listed by id, or every submitted one of a class/course."""

    outcome_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=BATCH_LIMIT, description="要認證的成果；不填則依班級或課程篩選"
    )
    class_code: str | None = Field(default=None, max_length=20, description="班級")
    section_id: uuid.UUID | None = Field(default=None, description="課程（開課）")

    @model_validator(mode="after")
    def _something_chosen(self) -> Self:
        if not self.outcome_ids and self.class_code is None and self.section_id is None:
            raise ValueError("請指定要認證的成果（outcome_ids），或以班級、課程篩選")
        return self


class BatchItemResult(BaseModel):
    outcome_id: uuid.UUID
    ok: bool
    status: str | None = Field(description="處理後的狀態")
    version: int | None = None
    error: str | None = Field(default=None, description="失敗時的錯誤代碼")
    message: str | None = Field(default=None, description="失敗時的說明")


class BatchResult(BaseModel):
    succeeded: int
    failed: int
    results: list[BatchItemResult]


class DelegationCreate(BaseModel):
    substitute_id: uuid.UUID = Field(description="代理人")
    starts_at: AwareUtcDatetime = Field(description="代理開始時間")
    ends_at: AwareUtcDatetime = Field(description="代理結束時間")


class DelegationPublic(BaseModel):
    id: uuid.UUID
    teacher: StaffRef | None = Field(description="委託的教師")
    substitute: StaffRef | None = Field(description="代理人")
    teacher_id: uuid.UUID
    substitute_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    ended_early_at: datetime | None
    active: bool

    @classmethod
    def of(
        cls,
        delegation: CertifierDelegation,
        people: dict[uuid.UUID, KnownPerson],
        *,
        now: datetime,
    ) -> DelegationPublic:
        """The API view of a delegation."""
        ended = delegation.ended_early_at
        running = delegation.starts_at <= now < delegation.ends_at
        return cls(
            id=delegation.id,
            teacher=StaffRef.of(people.get(delegation.teacher_id)),
            substitute=StaffRef.of(people.get(delegation.substitute_id)),
            teacher_id=delegation.teacher_id,
            substitute_id=delegation.substitute_id,
            starts_at=delegation.starts_at,
            ends_at=delegation.ends_at,
            ended_early_at=ended,
            active=running and (ended is None or now < ended),
        )
