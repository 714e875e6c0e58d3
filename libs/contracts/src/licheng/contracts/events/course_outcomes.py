"""Events course-outcomes publishes: 修課紀錄 imports, outcomes, selections, term locks."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from licheng.contracts.events.envelope import EventPayload


class CoursesImported(EventPayload):
    event_type: ClassVar[str] = "course_outcomes.courses.imported"
    summary: ClassVar[str] = "A term's 修課紀錄 were imported (only when something changed)."

    academic_year: int
    semester: int
    rows: int
    sections_created: int
    sections_updated: int
    enrolments_created: int
    enrolments_updated: int


class OutcomeFileRef(BaseModel):
    """A stored file of an outcome: where it is and what it hashes to."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    slot: str
    key: str = Field(description="object key in the uploads bucket")
    sha256: str
    kind: str
    size: int


class OutcomeSnapshot(EventPayload):
    """The outcome as it is after the change (every outcome event carries the whole of it)."""

    outcome_id: uuid.UUID
    student_id: uuid.UUID
    academic_year: int
    semester: int
    status: str = Field(description="draft | submitted | certified | failed")
    outcome_type: str
    brief: str = Field(description="成果簡述")
    video_url: str | None = None
    certifier_id: uuid.UUID | None = None
    selected: bool
    fail_reason: str | None = Field(default=None, description="01–04 when failed")
    files: list[OutcomeFileRef] = Field(default_factory=list)
    course_code: str | None = None
    subject_name: str | None = None
    credits: int | None = None
    grade: int | None = Field(default=None, description="開課年級")


class OutcomeCreated(OutcomeSnapshot):
    event_type: ClassVar[str] = "course_outcomes.outcome.created"
    summary: ClassVar[str] = "A student created an outcome (draft)."


class OutcomeUpdated(OutcomeSnapshot):
    event_type: ClassVar[str] = "course_outcomes.outcome.updated"
    summary: ClassVar[str] = "A student edited an outcome or its files."


class OutcomeSubmitted(OutcomeSnapshot):
    event_type: ClassVar[str] = "course_outcomes.outcome.submitted"
    summary: ClassVar[str] = "送審: the outcome went to its certifying teacher."


class OutcomeCertified(OutcomeSnapshot):
    event_type: ClassVar[str] = "course_outcomes.outcome.certified"
    summary: ClassVar[str] = "The teacher certified the outcome."


class OutcomeFailed(OutcomeSnapshot):
    event_type: ClassVar[str] = "course_outcomes.outcome.failed"
    summary: ClassVar[str] = "The teacher failed the outcome with a reason code."


class OutcomeRevoked(OutcomeSnapshot):
    event_type: ClassVar[str] = "course_outcomes.outcome.revoked"
    summary: ClassVar[str] = "取消認證: back to draft, selection dropped."


class OutcomeReassigned(OutcomeSnapshot):
    event_type: ClassVar[str] = "course_outcomes.outcome.reassigned"
    summary: ClassVar[str] = "更換認證教師: another teacher certifies it now."


class OutcomeDeleted(OutcomeSnapshot):
    event_type: ClassVar[str] = "course_outcomes.outcome.deleted"
    summary: ClassVar[str] = "The student deleted a draft or failed outcome."


class OutcomeSelectionChanged(OutcomeSnapshot):
    event_type: ClassVar[str] = "course_outcomes.selection.changed"
    summary: ClassVar[str] = "勾選: the outcome was selected for, or dropped from, the roster."


class OutcomesTermLocked(EventPayload):
    event_type: ClassVar[str] = "course_outcomes.term.locked"
    summary: ClassVar[str] = (
        "The term is locked for a roster submission; every earlier outcome event has an outbox "
        "sequence at or below `high_water_mark`."
    )

    submission_id: uuid.UUID
    academic_year: int
    semester: int
    high_water_mark: int


class OutcomesTermReopened(EventPayload):
    event_type: ClassVar[str] = "course_outcomes.term.reopened"
    summary: ClassVar[str] = "The admin reopened a submitted term for corrections."

    submission_id: uuid.UUID
    academic_year: int
    semester: int
