"""Events: the envelope, one payload model per event type, subjects and streams.

`licheng.contracts.events.envelope` holds the wire format and the rules for changing events;
`identity`, `course_outcomes`, `performances` and `exports` hold the payload models of each
producer. The catalog (`docs/events.md`) is generated from these models by
`licheng.contracts.catalog`.
"""

from licheng.contracts.events.course_outcomes import (
    CoursesImported,
    OutcomeCertified,
    OutcomeCreated,
    OutcomeDeleted,
    OutcomeFailed,
    OutcomeFileRef,
    OutcomeReassigned,
    OutcomeRevoked,
    OutcomeSelectionChanged,
    OutcomeSnapshot,
    OutcomesTermLocked,
    OutcomesTermReopened,
    OutcomeSubmitted,
    OutcomeUpdated,
)
from licheng.contracts.events.envelope import (
    DEAD_LETTER_PREFIX,
    FORBIDDEN_DATA_KEYS,
    STREAMS,
    Event,
    EventEnvelope,
    EventPayload,
    StreamSpec,
    dead_letter_subject,
    payload_models,
    subject_filter,
    subject_filter_of,
)
from licheng.contracts.events.exports import (
    SubmissionCompleted,
    SubmissionFailed,
    SubmissionRequested,
)
from licheng.contracts.events.identity import (
    ClassUpserted,
    GrantChanged,
    PersonUpserted,
    SchoolCreated,
)
from licheng.contracts.events.performances import (
    CadreRecorded,
    CadreRemoved,
    CadreSnapshot,
    CertificateChanged,
    PerformanceCreated,
    PerformanceDeleted,
    PerformanceFileRef,
    PerformanceSelectionChanged,
    PerformanceSnapshot,
    PerformancesRosterLocked,
    PerformancesRosterReopened,
    PerformanceUpdated,
)

__all__ = [
    "DEAD_LETTER_PREFIX",
    "FORBIDDEN_DATA_KEYS",
    "STREAMS",
    "CadreRecorded",
    "CadreRemoved",
    "CadreSnapshot",
    "CertificateChanged",
    "ClassUpserted",
    "CoursesImported",
    "Event",
    "EventEnvelope",
    "EventPayload",
    "GrantChanged",
    "OutcomeCertified",
    "OutcomeCreated",
    "OutcomeDeleted",
    "OutcomeFailed",
    "OutcomeFileRef",
    "OutcomeReassigned",
    "OutcomeRevoked",
    "OutcomeSelectionChanged",
    "OutcomeSnapshot",
    "OutcomeSubmitted",
    "OutcomeUpdated",
    "OutcomesTermLocked",
    "OutcomesTermReopened",
    "PerformanceCreated",
    "PerformanceDeleted",
    "PerformanceFileRef",
    "PerformanceSelectionChanged",
    "PerformanceSnapshot",
    "PerformanceUpdated",
    "PerformancesRosterLocked",
    "PerformancesRosterReopened",
    "PersonUpserted",
    "SchoolCreated",
    "StreamSpec",
    "SubmissionCompleted",
    "SubmissionFailed",
    "SubmissionRequested",
    "dead_letter_subject",
    "payload_models",
    "subject_filter",
    "subject_filter_of",
]
