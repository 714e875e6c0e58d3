"""The event envelope and payload models: subjects, additive reading, no personal identifiers."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import ValidationError

from licheng.contracts import catalog
from licheng.contracts.events import (
    STREAMS,
    EventEnvelope,
    EventPayload,
    OutcomeCertified,
    PersonUpserted,
    payload_models,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "events.md"


def _person() -> PersonUpserted:
    return PersonUpserted(
        person_id=uuid.uuid4(), kind="student", local_no="110001", name="林家豪", username="x"
    )


def test_subject_puts_the_school_after_the_service() -> None:
    envelope = _person().envelope(school_code="011302", actor_id=None)
    assert envelope.subject == "identity.011302.person.upserted"
    assert envelope.service == "identity"
    assert envelope.schema_version == PersonUpserted.schema_version
    assert PersonUpserted.model_validate(envelope.data).local_no == "110001"


def test_every_event_type_has_one_model_and_lands_in_its_services_stream() -> None:
    models = payload_models()
    assert OutcomeCertified.event_type in models
    assert len(models) >= 19
    for event_type, model in models.items():
        assert model.event_type == event_type
        stream = STREAMS[event_type.split(".")[0]]
        subject = EventEnvelope(type=event_type, school_code="011302").subject
        assert any(subject.startswith(p[:-1]) for p in stream.subjects)


def test_a_second_model_for_one_type_is_refused() -> None:
    with pytest.raises(TypeError, match="already has a payload model"):

        class Again(EventPayload):
            event_type: ClassVar[str] = "identity.person.upserted"


@pytest.mark.parametrize("field", ["national_id", "birth_date", "身分證號"])
def test_a_payload_model_cannot_declare_a_personal_identifier(field: str) -> None:
    with pytest.raises(TypeError, match="personal identifiers"):
        type(
            "Leaky",
            (EventPayload,),
            {"__annotations__": {field: "str"}, "event_type": f"identity.leak.{uuid.uuid4().hex}"},
        )


@pytest.mark.parametrize(
    "data",
    [
        {"national_id": "A123456789"},
        {"student": {"birth_date": "2008-01-01"}},
        {"rows": [{"ok": 1}, {"身分證號": "A123456789"}]},
    ],
)
def test_envelopes_refuse_personal_identifiers_at_any_depth(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="personal identifiers"):
        EventEnvelope(type=PersonUpserted.event_type, school_code="011302", data=data)


def test_readers_ignore_fields_they_do_not_know() -> None:
    raw = (
        '{"id": "6f1c1f8e-4b7e-4d0e-9a53-6a0f1d7e2b11", "type": "identity.person.upserted",'
        ' "schema_version": 2, "occurred_at": "2026-11-28T00:00:00Z", "school_code": "011302",'
        ' "data": {"person_id": "6f1c1f8e-4b7e-4d0e-9a53-6a0f1d7e2b11", "kind": "staff",'
        ' "local_no": "T001", "name": "陳老師", "username": "t", "added_later": 1},'
        ' "also_added_later": true}'
    )
    envelope = EventEnvelope.model_validate_json(raw)
    assert envelope.schema_version == 2
    person = PersonUpserted.model_validate(envelope.data)
    assert (person.kind, person.local_no) == ("staff", "T001")


def test_bad_school_codes_and_types_are_refused() -> None:
    with pytest.raises(ValidationError):
        EventEnvelope(type=PersonUpserted.event_type, school_code="11302")
    with pytest.raises(ValidationError):
        EventEnvelope(type=PersonUpserted.event_type, school_code="０１１３０２")
    with pytest.raises(ValidationError):
        EventEnvelope(type="identity.person", school_code="011302")


def test_the_catalog_in_the_docs_is_generated_from_the_models() -> None:
    assert DOCS.read_text() == catalog.render(), (
        "docs/events.md is out of date: run "
        "`uv run python -m licheng.contracts.catalog > docs/events.md`"
    )
