"""The sheets and columns of each 名冊 and how one read-model record becomes one row.

Every workbook starts with the 封面 (cover: 學校代碼, 學年度, 學期, 名冊別), then one sheet per
record type; every record row starts with 身分證號 and 出生日期 (docs/domain.md §3.2). The
layouts, by roster code (`licheng.contracts.rosters.RosterCode`):

- **24 校內幹部經歷名冊**: sheet 幹部經歷紀錄 (the name in the only workbook template on record,
  §3.4/§6.1; the receipt JSON of §3.5 calls the group 幹部經歷), columns 單位名稱, 開始日期,
  結束日期, 擔任職務, 幹部等級 (the code 1–4 as a number).
- **25 學生自填多元表現名冊**: one sheet per 多元表現 category, in the categories' order, named as
  the central sheet (§1.6, §3.5): the category's field labels in order, then 內容簡述, 證明文件
  (the record's attachment names in the ZIP, joined with `;`) and 影音檔案外部連結. The
  檢定證照紀錄 sheet also has the catalog's named columns 國內國外, 證照類別, 發照單位, 證照名稱
  right after 證照代碼 (§3.5's order), filled from the school's certificate catalog.
  The category definitions are performances' (`licheng.performances.categories`); exports may
  not import another service, so they are copied here as data and a test keeps the two equal.
- **26 學生課程學習成果名冊**: sheet 學期課程學習成果 only, columns (§3.5) 開課年級, 課程代碼,
  科目名稱, 修課學分, 實際修課學年度, 實際修課學期, 成果簡述, then 課程學習成果檔案 (attachment
  names joined with `;`) and 課程學習成果影音連結. Course-outcomes' `outcome_type` (實作作品,
  書面報告, 其他) is the kind of work, not the 補修/重修/轉學轉科 kind of course the other
  sheets of §3.5 need, and the read model has none of those courses' fields: every outcome
  goes to 學期課程學習成果.

The cover's 學期 follows one rule (`cover_semester`): 名冊 25 is yearly and writes `0` (as
zeckvan does, §3.2); 名冊 24 and 26 are built per semester and write that semester (1 or 2).

Attachments travel inside the ZIP under names with no personal data: `attachment_name`.
Text cells are neutralised (`cells.neutralise`) and dates written as `YYYY/MM/DD` (`cells`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Protocol

from licheng.contracts.rosters import RosterCode
from licheng.exports.rosters.cells import Cell, cell, format_date, iso_date, neutralise

COVER_SHEET = "封面"
COVER_COLUMNS = ("學校代碼", "學年度", "學期", "名冊別")
IDENTIFIER_COLUMNS = ("身分證號", "出生日期")
ATTACHMENT_SEPARATOR = ";"
YEARLY_SEMESTER = 0


@dataclass(frozen=True, slots=True)
class Identifiers:
    """A student's 身分證號 and 出生日期, for one export job only; never shown in a repr."""

    national_id: str = field(repr=False)
    birth_date: date = field(repr=False)


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What the school's 檢定證照 catalog says about a 證照代碼."""

    name: str
    category: str | None = None
    issuer: str | None = None
    domestic: bool = True


@dataclass(frozen=True, slots=True)
class Sheet:
    """One sheet of a 名冊: its name and its header row."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FieldColumn:
    """A 多元表現 field written as a column: its key in `fields`, its label, a date or not."""

    name: str
    label: str
    is_date: bool = False


@dataclass(frozen=True, slots=True)
class CategorySheet:
    """A 多元表現 category's sheet in 名冊 25 (a copy of performances' `CategorySpec`)."""

    category: str
    sheet: str
    fields: tuple[FieldColumn, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """The header row: identifiers, the fields (with the catalog's columns), the tail."""
        labels: list[str] = []
        for column in self.fields:
            labels.append(column.label)
            if column.name == CERTIFICATE_CODE_FIELD:
                labels.extend(CERTIFICATE_CATALOG_COLUMNS)
        return (*IDENTIFIER_COLUMNS, *labels, *PERFORMANCE_TAIL_COLUMNS)


class OutcomeRecord(Protocol):
    """What a 課程學習成果 row needs (`licheng.exports.models.OutcomeRow` has it)."""

    @property
    def academic_year(self) -> int: ...
    @property
    def semester(self) -> int: ...
    @property
    def brief(self) -> str: ...
    @property
    def video_url(self) -> str | None: ...
    @property
    def course_code(self) -> str | None: ...
    @property
    def subject_name(self) -> str | None: ...
    @property
    def credits(self) -> int | None: ...
    @property
    def grade(self) -> int | None: ...


class PerformanceRecord(Protocol):
    """What a 多元表現 row needs (`licheng.exports.models.PerformanceRow` has it)."""

    @property
    def category(self) -> str: ...
    @property
    def fields(self) -> dict[str, Any]: ...
    @property
    def brief(self) -> str: ...
    @property
    def video_url(self) -> str | None: ...


class CadreRecord(Protocol):
    """What a 校內幹部 row needs (`licheng.exports.models.CadreRow` has it)."""

    @property
    def unit_name(self) -> str: ...
    @property
    def role_title(self) -> str: ...
    @property
    def level(self) -> int: ...
    @property
    def start_date(self) -> str: ...
    @property
    def end_date(self) -> str | None: ...


# 名冊 24 -------------------------------------------------------------------------------------

CADRE_SHEET = Sheet(
    "幹部經歷紀錄",
    (*IDENTIFIER_COLUMNS, "單位名稱", "開始日期", "結束日期", "擔任職務", "幹部等級"),
)

# 名冊 25 -------------------------------------------------------------------------------------

CERTIFICATE_CATEGORY = "certificate"
CERTIFICATE_CODE_FIELD = "certificate_code"
CERTIFICATE_CATALOG_COLUMNS = ("國內國外", "證照類別", "發照單位", "證照名稱")
PERFORMANCE_TAIL_COLUMNS = ("內容簡述", "證明文件", "影音檔案外部連結")
DOMESTIC, FOREIGN = "國內", "國外"

_C = FieldColumn
_PERIOD = (_C("start_date", "開始日期", is_date=True), _C("end_date", "結束日期", is_date=True))

CATEGORY_SHEETS: tuple[CategorySheet, ...] = (
    CategorySheet("cadre", "幹部經歷暨事蹟紀錄", (
        _C("unit_name", "單位名稱"), *_PERIOD, _C("role_title", "擔任職務"),
        _C("level", "幹部等級"),
    )),
    CategorySheet("competition", "競賽參與紀錄", (
        _C("name", "競賽名稱"), _C("item", "項目"), _C("level", "競賽等級"), _C("award", "獎項"),
        _C("announced_on", "結果公布日期", is_date=True), _C("team", "團體參與"),
    )),
    CategorySheet(CERTIFICATE_CATEGORY, "檢定證照紀錄", (
        _C(CERTIFICATE_CODE_FIELD, "證照代碼"), _C("grade_or_score", "級數分數"),
        _C("score", "分數"), _C("sub_results", "分項結果"),
        _C("obtained_on", "取得證照日期", is_date=True), _C("certificate_no", "證照字號"),
        _C("exam_group", "檢定組別"),
    )),
    CategorySheet("service", "服務學習紀錄", (
        _C("name", "服務名稱"), _C("organisation", "服務單位"), *_PERIOD, _C("hours", "時數"),
    )),
    CategorySheet("flexible", "彈性學習時間紀錄", (
        _C("kind", "彈性學習時間種類"), _C("name", "內容(開設名稱)"), _C("organiser", "開設單位"),
        _C("offered_year", "開設學年度"), _C("offered_semester", "開設學期"),
        _C("periods_per_week", "每週節數"), _C("weeks", "開設週數"),
    )),
    CategorySheet("workplace", "職場學習紀錄", (
        _C("kind", "職場學習類別"), _C("organisation", "職場學習單位"),
        _C("job_title", "職場學習職稱"), *_PERIOD, _C("hours", "時數"),
    )),
    CategorySheet("work", "作品成果紀錄", (
        _C("name", "名稱"), _C("made_on", "日期", is_date=True),
    )),
    CategorySheet("other", "其他多元表現紀錄", (
        _C("name", "名稱"), _C("organiser", "主辦單位"), *_PERIOD, _C("hours", "時數"),
    )),
    CategorySheet("group_activity", "團體活動時間紀錄", (
        _C("kind", "團體活動時間類別"), _C("organiser", "辦理單位"),
        _C("name", "團體活動內容名稱"), _C("activity_year", "活動學年度"),
        _C("activity_semester", "活動學期"), _C("periods", "節數"),
    )),
    CategorySheet("advanced_course", "大學及技專校院先修課程紀錄", (
        _C("organiser", "開設單位"), _C("course_name", "課程名稱"), *_PERIOD,
        _C("credits", "學分數"), _C("total_hours", "總時數"),
    )),
)  # fmt: skip
del _C, _PERIOD

CATEGORY_SHEET_BY_KEY: Mapping[str, CategorySheet] = MappingProxyType(
    {sheet.category: sheet for sheet in CATEGORY_SHEETS}
)

# 名冊 26 -------------------------------------------------------------------------------------

OUTCOME_SHEET = Sheet(
    "學期課程學習成果",
    (
        *IDENTIFIER_COLUMNS,
        "開課年級",
        "課程代碼",
        "科目名稱",
        "修課學分",
        "實際修課學年度",
        "實際修課學期",
        "成果簡述",
        "課程學習成果檔案",
        "課程學習成果影音連結",
    ),
)

ROSTER_SHEETS: Mapping[RosterCode, tuple[Sheet, ...]] = MappingProxyType(
    {
        RosterCode.CADRES: (CADRE_SHEET,),
        RosterCode.PERFORMANCES: tuple(Sheet(s.sheet, s.columns) for s in CATEGORY_SHEETS),
        RosterCode.COURSE_OUTCOMES: (OUTCOME_SHEET,),
    }
)


def roster_sheets(roster_code: RosterCode) -> tuple[Sheet, ...]:
    """The record sheets of a 名冊 in workbook order (the 封面 not included)."""
    return ROSTER_SHEETS[roster_code]


# The cover ------------------------------------------------------------------------------------


def cover_semester(roster_code: RosterCode, semester: int) -> int:
    """The 封面's 學期: 0 for the yearly 名冊 25, the term's semester (1 or 2) otherwise."""
    if roster_code == RosterCode.PERFORMANCES:
        return YEARLY_SEMESTER
    if semester not in (1, 2):
        raise ValueError(f"名冊 {roster_code.value} 的學期須為 1 或 2")
    return semester


def cover_row(
    *, school_code: str, academic_year: int, semester: int, roster_code: RosterCode
) -> list[Cell]:
    """The 封面's one row: 學校代碼 and 名冊別 as text, 學年度 and 學期 as numbers.

    The semester is written as given, and must already follow `cover_semester`'s rule.
    """
    if cover_semester(roster_code, semester) != semester:
        raise ValueError(f"名冊 {roster_code.value} 的封面學期須為 {YEARLY_SEMESTER}")
    return [neutralise(school_code), academic_year, semester, roster_code.value]


# Attachments ------------------------------------------------------------------------------------

ATTACHMENTS_FOLDER = "attachments"
_KIND = re.compile(r"[a-z0-9]{1,10}")


def attachment_name(record_id: uuid.UUID, index: int, kind: str) -> str:
    """A file's name inside the ZIP, `attachments/{record_id}-{index}.{kind}`: no personal data."""
    if not _KIND.fullmatch(kind):
        raise ValueError(f"unknown file kind {kind!r}")
    if index < 1:
        raise ValueError("attachment index starts at 1")
    return f"{ATTACHMENTS_FOLDER}/{record_id}-{index}.{kind}"


def attachment_names(record_id: uuid.UUID, files: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ZIP names of a record's files (read-model file refs with a `kind`), numbered from 1."""
    return [
        attachment_name(record_id, index, str(ref["kind"]))
        for index, ref in enumerate(files, start=1)
    ]


def _joined(names: Sequence[str]) -> str | None:
    return neutralise(ATTACHMENT_SEPARATOR.join(names)) if names else None


def _identifiers(who: Identifiers) -> list[Cell]:
    return [neutralise(who.national_id), format_date(who.birth_date)]


def _text(value: str | None) -> str | None:
    return None if value is None or value == "" else neutralise(value)


# Rows -------------------------------------------------------------------------------------------


def outcome_row(
    record: OutcomeRecord, *, who: Identifiers, attachments: Sequence[str]
) -> tuple[str, list[Cell]]:
    """A 課程學習成果 as (sheet name, cells) of 名冊 26."""
    return OUTCOME_SHEET.name, [
        *_identifiers(who),
        record.grade,
        _text(record.course_code),
        _text(record.subject_name),
        record.credits,
        record.academic_year,
        record.semester,
        _text(record.brief),
        _joined(attachments),
        _text(record.video_url),
    ]


def cadre_row(record: CadreRecord, *, who: Identifiers) -> tuple[str, list[Cell]]:
    """A 校內幹部 record as (sheet name, cells) of 名冊 24."""
    return CADRE_SHEET.name, [
        *_identifiers(who),
        _text(record.unit_name),
        iso_date(record.start_date),
        iso_date(record.end_date),
        _text(record.role_title),
        record.level,
    ]


def _catalog_cells(code: Any, catalog: Mapping[str, CertificateInfo]) -> list[Cell]:
    info = catalog.get(code) if isinstance(code, str) else None
    if info is None:
        return [None, None, None, None]
    return [
        DOMESTIC if info.domestic else FOREIGN,
        _text(info.category),
        _text(info.issuer),
        _text(info.name),
    ]


def performance_row(
    record: PerformanceRecord,
    *,
    who: Identifiers,
    attachments: Sequence[str],
    certificates: Mapping[str, CertificateInfo] | None = None,
) -> tuple[str, list[Cell]]:
    """A 多元表現 record as (sheet name, cells) of 名冊 25; a certificate's catalog columns are
    filled from `certificates` (證照代碼 → catalog item), left empty for an unknown code."""
    sheet = CATEGORY_SHEET_BY_KEY.get(record.category)
    if sheet is None:
        raise ValueError(f"unknown 多元表現 category {record.category!r}")
    values = record.fields
    cells = _identifiers(who)
    for column in sheet.fields:
        value = values.get(column.name)
        if column.is_date:
            cells.append(iso_date(value))
        elif value.__class__ is str:  # the common case, without `cell`'s dispatch
            cells.append(neutralise(value) if value else None)
        else:
            cells.append(cell(value))
        if column.name == CERTIFICATE_CODE_FIELD:
            cells.extend(_catalog_cells(value, certificates or {}))
    cells.append(_text(record.brief))
    cells.append(_joined(attachments))
    cells.append(_text(record.video_url))
    return sheet.sheet, cells
