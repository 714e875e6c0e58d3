"""Request and response shapes of 多元表現 records, proof files, 勾選 and the categories."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from licheng.kit.people import StudentRef
from licheng.performances.categories import CategorySpec, FieldSpec
from licheng.performances.models import (
    Category,
    Certificate,
    KnownPerson,
    Origin,
    Performance,
    PerformanceFile,
)

VIDEO_URL_MAX = 500
# A field's value as a form sends it: text (dates in ISO or ROC form), a number, or null.
FieldValue = str | int | float | None
FieldValues = dict[str, FieldValue]


def _video_url(value: str | None) -> str | None:
    """An http(s) link of at most 500 characters; empty means none."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > VIDEO_URL_MAX:
        raise PydanticCustomError("video_url_too_long", f"影音檔案外部連結最多 {VIDEO_URL_MAX} 字")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in text:
        raise PydanticCustomError(
            "video_url_invalid", "影音檔案外部連結須為 http:// 或 https:// 開頭的網址"
        )
    return text


class PerformanceCreate(BaseModel):
    """A new self-filled record: the category's fields plus 內容簡述 and an optional link."""

    model_config = ConfigDict(extra="forbid")

    academic_year: int = Field(ge=100, le=200, description="學年度")
    category: Category
    fields: FieldValues = Field(
        default_factory=dict, max_length=40, description="該類別的欄位（見 GET …/categories）"
    )
    brief: str = Field(max_length=5000, description="內容簡述（必填，字數上限見參數設定）")
    video_url: str | None = Field(default=None, description="影音檔案外部連結（http/https）")

    _check_video_url = field_validator("video_url")(_video_url)


class PerformanceUpdate(BaseModel):
    """A merge patch of a record: only what is sent changes.

    `fields` merges key by key (`null` removes a field); when `category` changes, `fields` is
    the new category's whole set instead. `video_url: null` (or "") clears the link.
    """

    model_config = ConfigDict(extra="forbid")

    category: Category | None = None
    fields: FieldValues | None = Field(default=None, max_length=40)
    brief: str | None = Field(default=None, max_length=5000)
    video_url: str | None = None

    _check_video_url = field_validator("video_url")(_video_url)


class SelectionUpdate(BaseModel):
    """The year's whole selection (勾選): these records and no others."""

    model_config = ConfigDict(extra="forbid")

    academic_year: int = Field(ge=100, le=200, description="學年度")
    performance_ids: list[uuid.UUID] = Field(max_length=100)


class FilePublic(BaseModel):
    id: uuid.UUID = Field(description="檔案編號（下載、刪除用）")
    filename: str
    kind: str = Field(description="pdf、jpg、png、mp3 或 mp4，依內容判定")
    size: int
    sha256: str
    uploaded_at: datetime

    @classmethod
    def of(cls, file: PerformanceFile) -> FilePublic:
        """The API view of a stored proof file."""
        return cls(id=file.id, filename=file.filename, kind=file.kind, size=file.size,
                   sha256=file.sha256, uploaded_at=file.uploaded_at)  # fmt: skip


class CertificateRef(BaseModel):
    """The catalog item a 檢定證照 record names."""

    code: str = Field(description="證照代碼")
    name: str = Field(description="證照名稱")
    category: str | None = Field(description="證照類別")
    issuer: str | None = Field(description="發照單位")
    domestic: bool = Field(description="國內（true）或國外")
    active: bool = Field(description="是否仍可選用（停用的項目不能用於新紀錄）")

    @classmethod
    def of(cls, item: Certificate | None) -> CertificateRef | None:
        """The reference, when the catalog has the item."""
        if item is None:
            return None
        return cls(code=item.code, name=item.name, category=item.category, issuer=item.issuer,
                   domestic=item.domestic, active=item.active)  # fmt: skip


class PerformancePublic(BaseModel):
    id: uuid.UUID
    academic_year: int
    category: Category
    category_title: str = Field(description="類別名稱，例如 競賽參與")
    origin: Origin = Field(description="self（學生自填）或 imported（學校匯入）")
    fields: dict[str, Any] = Field(description="該類別的欄位，日期為 ISO 格式")
    certificate: CertificateRef | None = Field(description="檢定證照紀錄的證照項目")
    brief: str = Field(description="內容簡述")
    video_url: str | None = Field(description="影音檔案外部連結")
    selected: bool = Field(description="是否已勾選提交")
    version: int
    files: list[FilePublic]
    student: StudentRef | None = Field(description="學生（學號、姓名、班級、座號）")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(
        cls,
        record: Performance,
        *,
        title: str,
        files: list[PerformanceFile],
        certificate: Certificate | None,
        student: KnownPerson | None,
    ) -> PerformancePublic:
        """The API view of a record."""
        return cls(
            id=record.id,
            academic_year=record.academic_year,
            category=record.category,
            category_title=title,
            origin=record.origin,
            fields=dict(record.fields),
            certificate=CertificateRef.of(certificate),
            brief=record.brief,
            video_url=record.video_url,
            selected=record.selected,
            version=record.version,
            files=[FilePublic.of(f) for f in files],
            student=StudentRef.of(student),
            created_at=record.created_at,
            updated_at=record.updated_at,
        )


class SelectionPublic(BaseModel):
    """The year's selection with its live counter (已勾選 X 項 / 最多 N 項)."""

    academic_year: int
    limit: int = Field(description="每學年最多勾選幾項")
    selected: int = Field(description="已勾選幾項")
    items: list[PerformancePublic] = Field(description="已勾選的紀錄（至多 limit 項）")


class DownloadLink(BaseModel):
    url: str
    expires_in: int = Field(description="秒")


class ChoicePublic(BaseModel):
    code: str
    label: str


class FieldPublic(BaseModel):
    name: str = Field(description="欄位鍵（fields 裡的名稱）")
    label: str = Field(description="欄位名稱（中央資料庫欄名）")
    kind: str = Field(
        description="text、date（ISO 或民國日期）、hours、count、year、semester、code、"
        "certificate（證照代碼，選項見證照項目清單）"
    )
    required: bool
    max_length: int
    choices: list[ChoicePublic] = Field(description="kind 為 code 時的選項")

    @classmethod
    def of(cls, spec: FieldSpec) -> FieldPublic:
        """The form's view of a field."""
        return cls(
            name=spec.name,
            label=spec.label,
            kind=spec.kind.value,
            required=spec.required,
            max_length=spec.max_length,
            choices=[ChoicePublic(code=c, label=label) for c, label in spec.choices.items()],
        )


class RangePublic(BaseModel):
    """Two date fields where the end may not come before the start."""

    start: str
    end: str


class CategoryPublic(BaseModel):
    key: Category
    title: str = Field(description="類別名稱")
    sheet: str = Field(description="中央資料庫工作表（名冊 25）")
    fields: list[FieldPublic]
    ranges: list[RangePublic]

    @classmethod
    def of(cls, spec: CategorySpec) -> CategoryPublic:
        """The form's view of a category."""
        return cls(
            key=spec.key,
            title=spec.title,
            sheet=spec.sheet,
            fields=[FieldPublic.of(f) for f in spec.fields],
            ranges=[RangePublic(start=s, end=e) for s, e in spec.ranges],
        )
