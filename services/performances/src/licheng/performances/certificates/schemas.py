"""The catalog's API shapes: an item, a new item, a change, and an import's summary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from licheng.performances.certificates.parsing import CODE_RULE, normalise_code, valid_code
from licheng.performances.models import Certificate


def _blank_is_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CategoryText = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None,
    BeforeValidator(_blank_is_none),
]
Issuer = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None,
    BeforeValidator(_blank_is_none),
]


class CertificatePublic(BaseModel):
    code: str = Field(description="證照代碼")
    name: str = Field(description="證照名稱")
    category: str | None = Field(description="證照類別")
    issuer: str | None = Field(description="發照單位")
    domestic: bool = Field(description="true 國內 / false 國外")
    active: bool = Field(description="停用的項目學生無法再選用")
    updated_at: datetime

    @classmethod
    def of(cls, certificate: Certificate) -> CertificatePublic:
        """The API view."""
        return cls.model_validate(certificate, from_attributes=True)


class CertificateCreate(BaseModel):
    """A new catalog item; the code is stored upper case, full-width characters folded."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=80, description="證照代碼")
    name: Name = Field(description="證照名稱")
    category: CategoryText = Field(default=None, description="證照類別")
    issuer: Issuer = Field(default=None, description="發照單位")
    domestic: bool = Field(default=True, description="true 國內 / false 國外")
    active: bool = True

    @field_validator("code")
    @classmethod
    def _code(cls, code: str) -> str:
        normalised = normalise_code(code)
        if not valid_code(normalised):
            raise ValueError(CODE_RULE)
        return normalised


class CertificatePatch(BaseModel):
    """Only the fields sent change; `category` and `issuer` may be cleared with null."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    category: CategoryText = None
    issuer: Issuer = None
    domestic: bool | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> CertificatePatch:
        for field in ("name", "domestic", "active"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} 不可為 null")
        return self


class CatalogImportSummary(BaseModel):
    created: int = Field(description="新增的項目")
    updated: int = Field(description="內容有變更的項目（含重新啟用）")
    deactivated: int = Field(description="不在檔案中而停用的項目，以及檔案中標示停用的項目")
    unchanged: int = Field(description="檔案中與目前清單相同的項目")
