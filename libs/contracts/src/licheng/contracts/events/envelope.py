"""The event envelope, typed payloads, subjects and streams (the wire format of every event).

An event travels as an `EventEnvelope` whose `data` is the JSON of one `EventPayload` model.
Each event type has exactly one payload model (a subclass naming its `event_type`), so producers
pass a model, never a hand-built dict, and consumers receive the parsed model.

Changing an event: adding optional fields is allowed (readers ignore fields they do not know;
bump the model's `schema_version`, which travels on the envelope); removing or renaming a field,
or changing its meaning or type, is a new event type. Personal identifiers (身分證號, birth
dates) are refused twice: a payload model may not declare such a field, and an envelope refuses
data holding such a key at any depth.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

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


class EventPayload(BaseModel):
    """The data of one event type. Subclasses set `event_type` (and `schema_version`)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    summary: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for name, field in cls.model_fields.items():
            for key in (name, field.alias):
                if key and key.lower() in FORBIDDEN_DATA_KEYS:
                    raise TypeError(f"{cls.__name__}: events never carry personal identifiers")
        if "event_type" in cls.__dict__:
            _check_type(cls.event_type)
            if cls.event_type in _PAYLOADS:
                raise TypeError(f"{cls.event_type} already has a payload model")
            _PAYLOADS[cls.event_type] = cls

    def envelope(self, *, school_code: str, actor_id: uuid.UUID | None) -> EventEnvelope:
        """This payload in its envelope, ready for the outbox."""
        return EventEnvelope(
            type=self.event_type,
            schema_version=self.schema_version,
            school_code=school_code,
            actor_id=actor_id,
            data=self.model_dump(mode="json"),
        )


_PAYLOADS: dict[str, type[EventPayload]] = {}


def _check_type(value: str) -> str:
    parts = value.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError("event type must be <service>.<entity>.<past_verb>")
    return value


def payload_models() -> Mapping[str, type[EventPayload]]:
    """Every event type and its payload model (the catalog)."""
    return MappingProxyType(_PAYLOADS)


class EventEnvelope(BaseModel):
    """One thing that happened, as it travels on NATS."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    schema_version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    school_code: SchoolCode
    actor_id: uuid.UUID | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _type_has_three_parts(cls, value: str) -> str:
        return _check_type(value)

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


P = TypeVar("P", bound=EventPayload)


@dataclass(frozen=True)
class Event(Generic[P]):
    """A received event: its envelope, and its data parsed into the type's payload model."""

    envelope: EventEnvelope
    data: P

    @property
    def id(self) -> uuid.UUID:
        """The event id (the outbox row's, the inbox's key)."""
        return self.envelope.id

    @property
    def school_code(self) -> str:
        """The school the event belongs to."""
        return self.envelope.school_code

    @property
    def actor_id(self) -> uuid.UUID | None:
        """Who caused it (None for the system)."""
        return self.envelope.actor_id


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


def subject_filter_of(payload: type[EventPayload], school: str = "*") -> str:
    """The subject filter matching one event type in every school (or one)."""
    service, entity, verb = payload.event_type.split(".")
    return subject_filter(service, entity, verb, school)


def dead_letter_subject(consumer: str) -> str:
    """Where a consumer's message goes after it keeps failing."""
    return f"{DEAD_LETTER_PREFIX}.{consumer}"
