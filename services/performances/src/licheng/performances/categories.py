"""The 多元表現 categories as data: each one's fields, labels, kinds and codes, in one place.

Every category is described once here (docs/domain.md §1.6, §3.5, §5.5–5.6); creating, editing,
importing, exporting and the portal's forms all read these definitions, so no category has code
of its own. Field names are stable English keys; `label` is the central sheet's column name.
Every record also has 內容簡述 (`brief`) and 影音檔案外部連結 (`video_url`) outside `fields`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from licheng.kit.dates import parse_date
from licheng.kit.tabular import clean_text
from licheng.performances.models import Category


class FieldKind(StrEnum):
    TEXT = "text"
    DATE = "date"  # ISO or ROC (民國) forms; stored as ISO
    HOURS = "hours"  # a number ≥ 0 with at most one decimal
    COUNT = "count"  # a whole number ≥ 0
    YEAR = "year"  # 學年度 (ROC), 100–200
    SEMESTER = "semester"  # 1 or 2
    CODE = "code"  # one of `choices`
    CERTIFICATE = "certificate"  # a code of the school's certificate catalog


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = False
    max_length: int = 100
    choices: Mapping[str, str] = field(default_factory=dict)  # code → label


@dataclass(frozen=True)
class CategorySpec:
    key: Category
    title: str  # the seed's category name
    sheet: str  # the central database's sheet (名冊 25)
    fields: tuple[FieldSpec, ...]
    # (start, end) field pairs where start ≤ end must hold
    ranges: tuple[tuple[str, str], ...] = ()

    def field(self, name: str) -> FieldSpec | None:
        """The field called `name`, if the category has one."""
        return next((f for f in self.fields if f.name == name), None)


F, K = FieldSpec, FieldKind
CADRE_LEVELS = MappingProxyType(
    {"1": "校級幹部", "2": "班級幹部", "3": "社團幹部", "4": "實習幹部"}
)
COMPETITION_LEVELS = MappingProxyType({"1": "校級", "2": "縣市級", "3": "全國", "4": "國際"})
TEAM_CODES = MappingProxyType({"1": "個人", "2": "團體"})
FLEXIBLE_KINDS = MappingProxyType(
    {
        "1": "自主學習",
        "2": "選手培訓",
        "3": "充實(增廣)性教學",
        "4": "補強性教學",
        "5": "學校特色活動",
    }
)
GROUP_ACTIVITY_KINDS = MappingProxyType(
    {
        "1": "班級活動",
        "2": "社團活動",
        "3": "學生自治會活動",
        "4": "學生服務學習活動",
        "5": "週會或講座",
    }
)
_PERIOD = (F("start_date", "開始日期", K.DATE, required=True), F("end_date", "結束日期", K.DATE))

CATEGORIES: Mapping[Category, CategorySpec] = MappingProxyType({
    spec.key: spec
    for spec in (
        CategorySpec(Category.CADRE, "幹部經歷", "幹部經歷暨事蹟紀錄", (
            F("unit_name", "單位名稱", required=True), *_PERIOD,
            F("role_title", "擔任職務", required=True),
            F("level", "幹部等級", K.CODE, required=True, choices=CADRE_LEVELS),
        ), (("start_date", "end_date"),)),
        CategorySpec(Category.COMPETITION, "競賽參與", "競賽參與紀錄", (
            F("name", "競賽名稱", required=True, max_length=200), F("item", "項目"),
            F("level", "競賽等級", K.CODE, required=True, choices=COMPETITION_LEVELS),
            F("award", "獎項"), F("announced_on", "結果公布日期", K.DATE, required=True),
            F("team", "團體參與", K.CODE, required=True, choices=TEAM_CODES),
        )),
        CategorySpec(Category.CERTIFICATE, "檢定證照", "檢定證照紀錄", (
            F("certificate_code", "證照代碼", K.CERTIFICATE, required=True, max_length=40),
            F("grade_or_score", "級數分數"), F("score", "分數", max_length=20),
            F("sub_results", "分項結果", max_length=200),
            F("obtained_on", "取得證照日期", K.DATE, required=True),
            F("certificate_no", "證照字號", max_length=50), F("exam_group", "檢定組別"),
        )),
        CategorySpec(Category.SERVICE, "志工服務", "服務學習紀錄", (
            F("name", "服務名稱", required=True, max_length=200),
            F("organisation", "服務單位", required=True), *_PERIOD,
            F("hours", "時數", K.HOURS, required=True),
        ), (("start_date", "end_date"),)),
        CategorySpec(Category.FLEXIBLE, "彈性學習", "彈性學習時間紀錄", (
            F("kind", "彈性學習時間種類", K.CODE, required=True, choices=FLEXIBLE_KINDS),
            F("name", "內容(開設名稱)", required=True, max_length=200),
            F("organiser", "開設單位", required=True),
            F("offered_year", "開設學年度", K.YEAR, required=True),
            F("offered_semester", "開設學期", K.SEMESTER, required=True),
            F("periods_per_week", "每週節數", K.COUNT), F("weeks", "開設週數", K.COUNT),
        )),
        CategorySpec(Category.WORKPLACE, "職場學習", "職場學習紀錄", (
            F("kind", "職場學習類別", required=True),
            F("organisation", "職場學習單位", required=True),
            F("job_title", "職場學習職稱"), *_PERIOD, F("hours", "時數", K.HOURS, required=True),
        ), (("start_date", "end_date"),)),
        CategorySpec(Category.WORK, "作品成果", "作品成果紀錄", (
            F("name", "名稱", required=True, max_length=200),
            F("made_on", "日期", K.DATE, required=True),
        )),
        CategorySpec(Category.OTHER, "其他活動", "其他多元表現紀錄", (
            F("name", "名稱", required=True, max_length=200), F("organiser", "主辦單位"),
            *_PERIOD, F("hours", "時數", K.HOURS),
        ), (("start_date", "end_date"),)),
        CategorySpec(Category.GROUP_ACTIVITY, "團體活動時間", "團體活動時間紀錄", (
            F("kind", "團體活動時間類別", K.CODE, required=True, choices=GROUP_ACTIVITY_KINDS),
            F("organiser", "辦理單位", required=True),
            F("name", "團體活動內容名稱", required=True, max_length=200),
            F("activity_year", "活動學年度", K.YEAR, required=True),
            F("activity_semester", "活動學期", K.SEMESTER, required=True),
            F("periods", "節數", K.COUNT, required=True),
        )),
        CategorySpec(Category.ADVANCED_COURSE, "大學及技專校院先修課程",
                     "大學及技專校院先修課程紀錄", (
            F("organiser", "開設單位", required=True),
            F("course_name", "課程名稱", required=True, max_length=200), *_PERIOD,
            F("credits", "學分數", K.HOURS, required=True),
            F("total_hours", "總時數", K.HOURS, required=True),
        ), (("start_date", "end_date"),)),
    )
})  # fmt: skip
del F, K

BRIEF_LABEL = "內容簡述"
VIDEO_LABEL = "影音檔案外部連結"


@dataclass(frozen=True)
class FieldProblem:
    """One refused field: its key, a stable code and a zh-TW message naming it."""

    field: str
    code: str
    message: str


def normalise_certificate_code(code: str) -> str:
    """How a 證照代碼 is stored and compared: NFKC (full-width folded), trimmed, upper case."""
    return clean_text(unicodedata.normalize("NFKC", code)).upper()


_HOURS = re.compile(r"[0-9]+(\.[0-9])?")


def _clean(spec: FieldSpec, raw: Any) -> tuple[Any, FieldProblem | None]:
    text = "" if raw is None else str(raw).strip()
    if text == "":
        if spec.required:
            return None, FieldProblem(spec.name, "required", f"{spec.label}為必填")
        return None, None
    if spec.kind == FieldKind.CERTIFICATE:
        text = normalise_certificate_code(text)
    if spec.kind in (FieldKind.TEXT, FieldKind.CERTIFICATE):
        if len(text) > spec.max_length:
            message = f"{spec.label}最多 {spec.max_length} 字"
            return None, FieldProblem(spec.name, "too_long", message)
        return text, None
    if spec.kind == FieldKind.DATE:
        parsed = raw if isinstance(raw, date) else parse_date(text)
        if parsed is None:
            message = f"{spec.label}不是有效的日期（例如 2026-09-01 或 115/09/01）"
            return None, FieldProblem(spec.name, "invalid_date", message)
        return parsed.isoformat(), None
    if spec.kind == FieldKind.HOURS:
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = Decimal(-1)
        if not _HOURS.fullmatch(text) or number < 0:
            message = f"{spec.label}須為 0 以上的數字（最多一位小數）"
            return None, FieldProblem(spec.name, "invalid_number", message)
        return float(number), None
    if spec.kind in (FieldKind.COUNT, FieldKind.YEAR, FieldKind.SEMESTER):
        low, high = {FieldKind.COUNT: (0, 10_000), FieldKind.YEAR: (100, 200),
                     FieldKind.SEMESTER: (1, 2)}[spec.kind]  # fmt: skip
        value = int(text) if text.isdigit() else -1
        if not low <= value <= high:
            message = f"{spec.label}須為 {low} 至 {high} 的整數"
            return None, FieldProblem(spec.name, "invalid_number", message)
        return value, None
    code = text[:-2] if text.endswith(".0") else text  # a number cell's 1.0
    if code not in spec.choices:
        allowed = "、".join(f"{c} {label}" for c, label in spec.choices.items())
        message = f"{spec.label}只能是 {allowed}"
        return None, FieldProblem(spec.name, "invalid_code", message)
    return code, None


def clean_fields(
    category: Category, raw: Mapping[str, Any]
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The category's fields from `raw`, normalised (ISO dates, codes as text), and every
    problem found (unknown fields, missing, malformed, a range that ends before it starts)."""
    spec = CATEGORIES[category]
    problems = [
        FieldProblem(name, "unknown_field", f"{spec.title}沒有「{name}」這個欄位")
        for name in raw
        if spec.field(name) is None
    ]
    cleaned: dict[str, Any] = {}
    for field_spec in spec.fields:
        value, problem = _clean(field_spec, raw.get(field_spec.name))
        if problem is not None:
            problems.append(problem)
        elif value is not None:
            cleaned[field_spec.name] = value
    for start, end in spec.ranges:
        if start in cleaned and end in cleaned and cleaned[end] < cleaned[start]:
            labels = {f.name: f.label for f in spec.fields}
            message = f"{labels[end]}不能早於{labels[start]}"
            problems.append(FieldProblem(end, "range_invalid", message))
    return cleaned, problems
