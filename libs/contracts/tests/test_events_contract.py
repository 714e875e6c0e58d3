"""The event envelope: subjects, additive reading, and no personal identifiers ever."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from licheng.contracts.events import STREAMS, EventEnvelope, EventType


def test_subject_puts_the_school_after_the_service() -> None:
    envelope = EventEnvelope(type=EventType.OUTCOME_CERTIFIED, school_code="011302")
    assert envelope.subject == "course_outcomes.011302.outcome.certified"
    assert envelope.service == "course_outcomes"


def test_every_catalog_type_lands_in_its_services_stream() -> None:
    types = [v for k, v in vars(EventType).items() if k.isupper()]
    assert len(types) == len(set(types))
    for event_type in types:
        service = event_type.split(".")[0]
        stream = STREAMS[service]
        subject = EventEnvelope(type=event_type, school_code="011302").subject
        assert all(pattern.endswith(".>") for pattern in stream.subjects)
        assert any(subject.startswith(p[:-1]) for p in stream.subjects)


@pytest.mark.parametrize(
    "data",
    [
        {"national_id": "A123456789"},
        {"student": {"birth_date": "2008-01-01"}},
        {"rows": [{"ok": 1}, {"身分證號": "A123456789"}]},
    ],
)
def test_personal_identifiers_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="personal identifiers"):
        EventEnvelope(type=EventType.PERSON_UPSERTED, school_code="011302", data=data)


def test_readers_ignore_fields_they_do_not_know() -> None:
    raw = (
        '{"id": "6f1c1f8e-4b7e-4d0e-9a53-6a0f1d7e2b11", "type": "identity.person.upserted",'
        ' "version": 2, "occurred_at": "2026-11-28T00:00:00Z", "school_code": "011302",'
        ' "data": {"student_no": "110001"}, "added_later": true}'
    )
    envelope = EventEnvelope.model_validate_json(raw)
    assert envelope.version == 2
    assert envelope.data == {"student_no": "110001"}


def test_bad_school_codes_and_types_are_refused() -> None:
    with pytest.raises(ValidationError):
        EventEnvelope(type=EventType.PERSON_UPSERTED, school_code="11302")
    with pytest.raises(ValidationError):
        EventEnvelope(type="identity.person", school_code="011302")
