"""Events performances publishes: 多元表現 records, 校內幹部 records, the certificate catalog,
selections and roster locks. Never a personal identifier: students are named by id only."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from licheng.contracts.events.envelope import EventPayload


class PerformanceFileRef(BaseModel):
    """A stored proof file of a record: where it is and what it hashes to."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    file_id: uuid.UUID
    key: str = Field(description="object key in the uploads bucket")
    sha256: str
    kind: str
    size: int


class PerformanceSnapshot(EventPayload):
    """The 多元表現 record as it is after the change (every record event carries all of it)."""

    performance_id: uuid.UUID
    student_id: uuid.UUID
    academic_year: int
    category: str = Field(description="the category key, e.g. competition, service")
    origin: str = Field(description="self (自填) | imported (多元項目管理者)")
    fields: dict[str, Any] = Field(description="the category's own fields, ISO dates")
    brief: str = Field(description="內容簡述")
    video_url: str | None = None
    selected: bool
    files: list[PerformanceFileRef] = Field(default_factory=list)


class PerformanceCreated(PerformanceSnapshot):
    event_type: ClassVar[str] = "performances.performance.created"
    summary: ClassVar[str] = "A student filled in a record, or a manager imported one."


class PerformanceUpdated(PerformanceSnapshot):
    event_type: ClassVar[str] = "performances.performance.updated"
    summary: ClassVar[str] = "A record's fields, brief, video link or proof files changed."


class PerformanceDeleted(PerformanceSnapshot):
    event_type: ClassVar[str] = "performances.performance.deleted"
    summary: ClassVar[str] = "A student deleted a record (the snapshot is its last state)."


class PerformanceSelectionChanged(PerformanceSnapshot):
    event_type: ClassVar[str] = "performances.selection.changed"
    summary: ClassVar[str] = "A record was selected (勾選) for the 名冊 or unselected."


class CadreSnapshot(EventPayload):
    """A 校內幹部 record as the school registered it (名冊 24)."""

    cadre_id: uuid.UUID
    student_id: uuid.UUID
    academic_year: int
    semester: int
    unit_name: str = Field(description="單位名稱")
    role_title: str = Field(description="擔任職務")
    level: int = Field(description="幹部等級 1 校級 / 2 班級 / 3 社團")
    start_date: str = Field(description="開始日期, ISO")
    end_date: str | None = Field(default=None, description="結束日期, ISO")


class CadreRecorded(CadreSnapshot):
    event_type: ClassVar[str] = "performances.cadre.recorded"
    summary: ClassVar[str] = "A 校內幹部 record was registered or changed by the school."


class CadreRemoved(CadreSnapshot):
    event_type: ClassVar[str] = "performances.cadre.removed"
    summary: ClassVar[str] = "A 校內幹部 record was removed by the school."


class CertificateChanged(EventPayload):
    event_type: ClassVar[str] = "performances.certificate.changed"
    summary: ClassVar[str] = "An item of the 檢定證照 catalog was added, changed or deactivated."

    code: str = Field(description="證照代碼")
    name: str
    category: str | None = None
    issuer: str | None = None
    domestic: bool = True
    active: bool


class PerformancesRosterLocked(EventPayload):
    event_type: ClassVar[str] = "performances.roster.locked"
    summary: ClassVar[str] = (
        "Answers exports' submission request for 名冊 24 or 25: student edits are locked; "
        "`high_water_mark` is the highest outbox sequence at lock time."
    )

    submission_id: uuid.UUID
    roster_code: str
    academic_year: int
    semester: int = Field(description="0 for the yearly 名冊 25")
    high_water_mark: int


class PerformancesRosterReopened(EventPayload):
    event_type: ClassVar[str] = "performances.roster.reopened"
    summary: ClassVar[str] = "The admin reopened a locked 名冊 (audited with a reason)."

    submission_id: uuid.UUID
    roster_code: str
    academic_year: int
    semester: int
