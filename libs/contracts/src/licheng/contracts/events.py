"""The event envelope, subjects and streams (DESIGN §4, §10).

A subject is `<service>.<school_code>.<entity>.<past_verb>`; an event's `type` is the same
without the school: `<service>.<entity>.<past_verb>`. Changes to an event are additive and
readers ignore fields they do not know.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from licheng.contracts.schools import SchoolCode

# Keys that would carry personal identifiers; an event carrying one is refused outright.
FORBIDDEN_DATA_KEYS = frozenset(
    {"national_id", "id_number", "birth_date", "birthday", "date_of_birth", "身分證號", "出生日期"}
)


def _find_forbidden_key(value: Any) -> str | None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if str(key).lower() in FORBIDDEN_DATA_KEYS:
                return str(key)
            found = _find_forbidden_key(item)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for item in value:
            found = _find_forbidden_key(item)
            if found:
                return found
    return None


class EventEnvelope(BaseModel):
    """One thing that happened, as it travels on NATS."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    school_code: SchoolCode
    actor_id: uuid.UUID | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _type_has_three_parts(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) != 3 or not all(parts):
            raise ValueError("event type must be <service>.<entity>.<past_verb>")
        return value

    @field_validator("data")
    @classmethod
    def _no_personal_identifiers(cls, value: dict[str, Any]) -> dict[str, Any]:
        key = _find_forbidden_key(value)
        if key is not None:
            raise ValueError(f"events never carry personal identifiers (field {key!r})")
        return value

    @property
    def service(self) -> str:
        """The producing service, the first part of the type."""
        return self.type.split(".")[0]

    @property
    def subject(self) -> str:
        """The NATS subject this event is published on."""
        service, entity, verb = self.type.split(".")
        return f"{service}.{self.school_code}.{entity}.{verb}"


@dataclass(frozen=True)
class StreamSpec:
    """A JetStream stream: its name and the subjects it captures."""

    name: str
    subjects: tuple[str, ...]
    work_queue: bool = False


STREAMS: Mapping[str, StreamSpec] = MappingProxyType(
    {
        "identity": StreamSpec("IDENTITY", ("identity.>",)),
        "course_outcomes": StreamSpec("COURSE_OUTCOMES", ("course_outcomes.>",)),
        "performances": StreamSpec("PERFORMANCES", ("performances.>",)),
        "guidance": StreamSpec("GUIDANCE", ("guidance.>",)),
        "exports": StreamSpec("EXPORTS", ("exports.>",)),
        "export_jobs": StreamSpec("EXPORT_JOBS", ("export_jobs.>",), work_queue=True),
        "dead_letters": StreamSpec("DEAD_LETTERS", ("dead_letter.>",)),
    }
)

DEAD_LETTER_PREFIX = "dead_letter"


def subject_filter(service: str, entity: str = "*", verb: str = "*", school: str = "*") -> str:
    """A subject filter, e.g. every certified outcome of any school."""
    return f"{service}.{school}.{entity}.{verb}"


def dead_letter_subject(consumer: str) -> str:
    """Where a consumer's message goes after it keeps failing."""
    return f"{DEAD_LETTER_PREFIX}.{consumer}"


class EventType:
    """The event catalog's first cut (DESIGN §10); contracts is its source of truth."""

    SCHOOL_CREATED = "identity.school.created"
    PERSON_UPSERTED = "identity.person.upserted"
    CLASS_UPSERTED = "identity.class.upserted"
    GRANT_CHANGED = "identity.grant.changed"

    COURSES_IMPORTED = "course_outcomes.courses.imported"
    OUTCOME_CREATED = "course_outcomes.outcome.created"
    OUTCOME_UPDATED = "course_outcomes.outcome.updated"
    OUTCOME_SUBMITTED = "course_outcomes.outcome.submitted"
    OUTCOME_CERTIFIED = "course_outcomes.outcome.certified"
    OUTCOME_FAILED = "course_outcomes.outcome.failed"
    OUTCOME_REVOKED = "course_outcomes.outcome.revoked"
    OUTCOME_REASSIGNED = "course_outcomes.outcome.reassigned"
    OUTCOME_DELETED = "course_outcomes.outcome.deleted"
    OUTCOME_SELECTION_CHANGED = "course_outcomes.selection.changed"
    OUTCOMES_TERM_LOCKED = "course_outcomes.term.locked"
    OUTCOMES_TERM_REOPENED = "course_outcomes.term.reopened"

    RECORD_CREATED = "performances.record.created"
    RECORD_UPDATED = "performances.record.updated"
    RECORD_DELETED = "performances.record.deleted"
    CADRE_IMPORTED = "performances.cadre.imported"
    PERFORMANCE_SELECTION_CHANGED = "performances.selection.changed"
    PERFORMANCES_TERM_LOCKED = "performances.term.locked"
    PERFORMANCES_TERM_REOPENED = "performances.term.reopened"

    COUNSELING_RECORDED = "guidance.counseling.recorded"
    STATEMENT_SAVED = "guidance.statement.saved"

    SUBMISSION_REQUESTED = "exports.submission.requested"
    SUBMISSION_COMPLETED = "exports.submission.completed"
    SUBMISSION_FAILED = "exports.submission.failed"
