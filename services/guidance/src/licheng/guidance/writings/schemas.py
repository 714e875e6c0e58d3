"""What the API takes and shows of 自傳 and 學習計畫."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from licheng.guidance.models import Writing, WritingKind, WritingVersion
from licheng.kit.people import StudentRef

KIND_TITLES = {WritingKind.AUTOBIOGRAPHY: "自傳", WritingKind.STUDY_PLAN: "學習計畫"}


class WritingSave(BaseModel):
    """A new version's text (surrounding blanks are trimmed; the length limit is the school's)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="內容")


class VersionFile(BaseModel):
    """A version's PDF: its shown name and size (download through the version's file link)."""

    name: str
    size: int = Field(description="位元組")

    @classmethod
    def of(cls, version: WritingVersion | None) -> VersionFile | None:
        """The version's file, if it has one."""
        if version is None or version.file_key is None:
            return None
        return cls(name=version.file_name or "file.pdf", size=version.file_size or 0)


class WritingPublic(BaseModel):
    """A writing's current state; `version` 0 and no `id` before the first save."""

    id: uuid.UUID | None
    kind: WritingKind
    title: str = Field(description="自傳 | 學習計畫")
    text: str
    version: int
    updated_at: datetime | None
    file: VersionFile | None

    @classmethod
    def of(
        cls, kind: WritingKind, writing: Writing | None, current: WritingVersion | None
    ) -> WritingPublic:
        """The view of a writing (None: not written yet) with its current version's file."""
        if writing is None:
            return cls(id=None, kind=kind, title=KIND_TITLES[kind], text="", version=0,
                       updated_at=None, file=None)  # fmt: skip
        return cls(id=writing.id, kind=kind, title=KIND_TITLES[kind], text=writing.text,
                   version=writing.version, updated_at=writing.updated_at,
                   file=VersionFile.of(current))  # fmt: skip


class StudentWritingPublic(WritingPublic):
    """A student's writing as their readers see it, with who the student is."""

    student: StudentRef | None


class VersionPublic(BaseModel):
    """One saved version, never changed afterwards."""

    writing_id: uuid.UUID
    kind: WritingKind
    number: int
    current: bool = Field(description="是否為目前版本")
    text: str
    saved_at: datetime
    file: VersionFile | None

    @classmethod
    def of(cls, writing: Writing, version: WritingVersion) -> VersionPublic:
        """The view of a version."""
        return cls(writing_id=writing.id, kind=writing.kind, number=version.number,
                   current=version.number == writing.version, text=version.text,
                   saved_at=version.saved_at, file=VersionFile.of(version))  # fmt: skip


class DiffHunk(BaseModel):
    """A run of lines: the same in both (`equal`), only new (`insert`), only old (`delete`),
    or old lines replaced by new ones (`replace`)."""

    op: Literal["equal", "insert", "delete", "replace"]
    old: list[str]
    new: list[str]


class ComparisonPublic(BaseModel):
    """A version beside the one before it (None for version 1) and their line diff."""

    version: VersionPublic
    previous: VersionPublic | None
    hunks: list[DiffHunk]


class DownloadLink(BaseModel):
    url: str
    expires_in: int = Field(description="秒")
