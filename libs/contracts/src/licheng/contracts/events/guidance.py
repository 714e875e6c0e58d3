"""Events guidance publishes: 課程諮詢紀錄 and 自傳/學習計畫 changes — ids only.

Counseling content and students' writings stay at school: the events name what changed and who
it concerns by id, never a topic, a text or a personal identifier.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from licheng.contracts.events.envelope import EventPayload


class CounselingRecordChanged(EventPayload):
    """A 課程諮詢紀錄 and the students it concerns, by id."""

    record_id: uuid.UUID
    counselor_id: uuid.UUID
    student_ids: list[uuid.UUID]
    mode: str = Field(description="individual | group")


class CounselingRecorded(CounselingRecordChanged):
    event_type: ClassVar[str] = "guidance.counseling.recorded"
    summary: ClassVar[str] = "A counselor recorded a consultation (individual or group)."


class CounselingUpdated(CounselingRecordChanged):
    event_type: ClassVar[str] = "guidance.counseling.updated"
    summary: ClassVar[str] = "A counselor changed their record (students, text or attachment)."


class CounselingDeleted(CounselingRecordChanged):
    event_type: ClassVar[str] = "guidance.counseling.deleted"
    summary: ClassVar[str] = "A counselor deleted their record."


class WritingSaved(EventPayload):
    event_type: ClassVar[str] = "guidance.writing.saved"
    summary: ClassVar[str] = "A student saved a new version of their 自傳 or 學習計畫."

    writing_id: uuid.UUID
    student_id: uuid.UUID
    kind: str = Field(description="autobiography | study_plan")
    version: int
