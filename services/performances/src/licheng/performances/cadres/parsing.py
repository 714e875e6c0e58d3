"""Reading and validating 校內幹部 records: from an xlsx/CSV file, or from a 校務行政系統's JSON.

Both paths check a record the same way (`check_entry`): 學年 100–200, 學期 1 or 2, a known 學號,
單位名稱 and 擔任職務 (≤ 100 characters), 幹部等級 1 校級 / 2 班級 / 3 社團 only (the pilot's school
import refuses anything else, docs/domain.md §5.5), 開始日期 required and 結束日期 optional in ROC
(1040907, 104/09/07) or ISO form, and never before the start. A record repeating an earlier one's
natural key (學號, 學年, 學期, 單位名稱, 擔任職務) is a duplicate.

The file's columns are the pilot template's (docs/domain.md §6.1): 學年, 學期, 學號, 單位名稱,
開始日期, 結束日期, 擔任職務, 幹部等級. Messages name the field and never repeat a cell's value.
Pure and synchronous: callers run `parse_cadre_file` through `in_worker`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from licheng.kit.dates import parse_date
from licheng.kit.tabular import (
    TEMPLATE_USAGE,
    Column,
    FirstSeen,
    Note,
    ParseResult,
    RowReader,
    Sheet,
    Table,
    clean_text,
    read_table,
    template_workbook,
)

MIN_ACADEMIC_YEAR, MAX_ACADEMIC_YEAR = 100, 200
MAX_NAME_LENGTH = 100  # 單位名稱, 擔任職務 (the table's columns)
MAX_STUDENT_NO_LENGTH = 32

LEVELS: Mapping[int, str] = {1: "校級幹部", 2: "班級幹部", 3: "社團幹部"}
"""幹部等級 a school may register (4 實習幹部 exists only in the pilot's self-fill form)."""

LEVEL_WORDS: Mapping[str, int] = {
    "1": 1, "校級": 1, "校級幹部": 1, "學校幹部": 1,
    "2": 2, "班級": 2, "班級幹部": 2,
    "3": 3, "社團": 3, "社團幹部": 3,
}  # fmt: skip
"""How a file may write 幹部等級: the code, or iSchool's 幹部類別 words (docs/domain.md §6.1)."""

SEMESTERS: Mapping[str, int] = {"1": 1, "2": 2, "一": 1, "二": 2, "上": 1, "下": 2}

LEVEL_MESSAGE = "幹部等級只能為 1～3（1 校級、2 班級、3 社團）"
DATE_HINT = "（可寫 1040907、104/09/07 或 2015-09-07）"

_DIGITS = re.compile(r"[0-9]+")


class Problem(NamedTuple):
    """One problem of one field: `field` is the API name (academic_year, level, …)."""

    field: str
    code: str
    message: str


class CadreKey(NamedTuple):
    """A record's natural key within its school."""

    student_no: str
    academic_year: int
    semester: int
    unit_name: str
    role_title: str


@dataclass(frozen=True, slots=True)
class CadreEntry:
    """A valid 校內幹部 record; `position` is its file row or its index in the JSON body."""

    academic_year: int
    semester: int
    student_no: str
    unit_name: str
    role_title: str
    level: int
    start_date: date
    end_date: date | None
    position: int

    @property
    def key(self) -> CadreKey:
        """The natural key the import upserts on."""
        return CadreKey(self.student_no, self.academic_year, self.semester, self.unit_name,
                        self.role_title)  # fmt: skip


FIELD_LABELS: Mapping[str, str] = {
    "academic_year": "學年",
    "semester": "學期",
    "student_no": "學號",
    "unit_name": "單位名稱",
    "start_date": "開始日期",
    "end_date": "結束日期",
    "role_title": "擔任職務",
    "level": "幹部等級",
}

ACADEMIC_YEAR = Column("學年", aliases=("學年度",))
SEMESTER = Column("學期")
STUDENT_NO = Column("學號", max_length=MAX_STUDENT_NO_LENGTH)
UNIT_NAME = Column("單位名稱", aliases=("單位",), max_length=MAX_NAME_LENGTH)
START_DATE = Column("開始日期", aliases=("起始日期", "起日"))
END_DATE = Column("結束日期", required=False, aliases=("迄日",))
ROLE_TITLE = Column("擔任職務", aliases=("職務", "幹部名稱"), max_length=MAX_NAME_LENGTH)
LEVEL = Column("幹部等級", aliases=("等級", "幹部類別"))
CADRE_COLUMNS = (ACADEMIC_YEAR, SEMESTER, STUDENT_NO, UNIT_NAME, START_DATE, END_DATE,
                 ROLE_TITLE, LEVEL)  # fmt: skip
COLUMN_OF_FIELD: Mapping[str, Column] = {
    "academic_year": ACADEMIC_YEAR,
    "semester": SEMESTER,
    "student_no": STUDENT_NO,
    "unit_name": UNIT_NAME,
    "start_date": START_DATE,
    "end_date": END_DATE,
    "role_title": ROLE_TITLE,
    "level": LEVEL,
}

MAX_CADRE_ROWS = 20_000
"""A semester of a large school with several cadres per student fits; bigger files are refused."""


# One field at a time: each returns the value, or None after reporting a problem. -------------


Report = Callable[[str, str, str], None]
"""report(field, code, message)"""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return clean_text(str(value)) or None


def _identifier(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    return clean_text(unicodedata.normalize("NFKC", text)).upper() or None


def _required(field: str, text: str | None, report: Report) -> str | None:
    if text is None:
        report(field, "required", f"「{FIELD_LABELS[field]}」不可空白")
    return text


def academic_year_of(value: Any, report: Report) -> int | None:
    """學年: a ROC academic year 100–200 (學年度 suffix allowed)."""
    text = _required("academic_year", _identifier(value), report)
    if text is None:
        return None
    digits = text.removesuffix("學年度").removesuffix("學年")
    if not _DIGITS.fullmatch(digits) or not MIN_ACADEMIC_YEAR <= int(digits) <= MAX_ACADEMIC_YEAR:
        message = f"學年必須是 {MIN_ACADEMIC_YEAR} 到 {MAX_ACADEMIC_YEAR} 之間的民國學年度"
        report("academic_year", "academic_year_invalid", message)
        return None
    return int(digits)


def semester_of(value: Any, report: Report) -> int | None:
    """學期: 1 or 2 (also 一/二, 上/下, 第…學期)."""
    text = _required("semester", _identifier(value), report)
    if text is None:
        return None
    semester = SEMESTERS.get(text.removeprefix("第").removesuffix("學期"))
    if semester is None:
        report("semester", "semester_invalid", "學期只能為 1 或 2")
    return semester


def level_of(value: Any, report: Report) -> int | None:
    """幹部等級: 1 校級 / 2 班級 / 3 社團, as the code or its word."""
    text = _required("level", _identifier(value), report)
    if text is None:
        return None
    level = LEVEL_WORDS.get(text)
    if level is None:
        report("level", "level_invalid", LEVEL_MESSAGE)
    return level


def name_of(field: str, value: Any, report: Report, *, max_length: int) -> str | None:
    """A required text (單位名稱, 擔任職務, 學號) of at most `max_length` characters."""
    text = _required(field, _text(value) if field != "student_no" else _identifier(value), report)
    if text is None:
        return None
    if len(text) > max_length:
        report(field, "too_long", f"「{FIELD_LABELS[field]}」不可超過 {max_length} 個字")
        return None
    return text


def date_of(field: str, value: Any, report: Report, *, required: bool) -> date | None:
    """開始日期 / 結束日期 in ROC or ISO form (or a date cell)."""
    if isinstance(value, date):
        return value
    text = _text(value)
    if text is None:
        if required:
            report(field, "required", f"「{FIELD_LABELS[field]}」不可空白")
        return None
    parsed = parse_date(text)
    if parsed is None:
        report(field, "date_invalid", f"「{FIELD_LABELS[field]}」不是有效的日期{DATE_HINT}")
    return parsed


def check_entry(
    raw: Mapping[str, Any],
    *,
    position: int,
    known_student_nos: Set[str],
    report: Report,
) -> CadreEntry | None:
    """One record's fields (by API name, raw values) checked; None when any has a problem."""
    failed = False

    def note(field: str, code: str, message: str) -> None:
        nonlocal failed
        failed = True
        report(field, code, message)

    year = academic_year_of(raw.get("academic_year"), note)
    semester = semester_of(raw.get("semester"), note)
    student_no = name_of("student_no", raw.get("student_no"), note,
                         max_length=MAX_STUDENT_NO_LENGTH)  # fmt: skip
    unit_name = name_of("unit_name", raw.get("unit_name"), note, max_length=MAX_NAME_LENGTH)
    role_title = name_of("role_title", raw.get("role_title"), note, max_length=MAX_NAME_LENGTH)
    level = level_of(raw.get("level"), note)
    start = date_of("start_date", raw.get("start_date"), note, required=True)
    end = date_of("end_date", raw.get("end_date"), note, required=False)
    if student_no is not None and student_no not in known_student_nos:
        note("student_no", "unknown_student", "找不到此學號的學生，請先匯入學生資料")
    if start is not None and end is not None and end < start:
        note("end_date", "date_range_invalid", "結束日期不可早於開始日期")
    if (
        failed
        or year is None
        or semester is None
        or student_no is None
        or unit_name is None
        or role_title is None
        or level is None
        or start is None
    ):
        return None
    return CadreEntry(
        academic_year=year,
        semester=semester,
        student_no=student_no,
        unit_name=unit_name,
        role_title=role_title,
        level=level,
        start_date=start,
        end_date=end,
        position=position,
    )


# The file ------------------------------------------------------------------------------------


def read_cadre_table(data: bytes, filename: str) -> Table:
    """Read a 校內幹部 xlsx or CSV file (UTF-8 with or without BOM, or Big5/CP950)."""
    return read_table(data, filename, max_rows=MAX_CADRE_ROWS)


def _raw_cells(reader: RowReader) -> dict[str, Any]:
    """The row's cells by field name; a missing column reads as empty."""
    return {field: reader.cell(column) for field, column in COLUMN_OF_FIELD.items()}


def parse_cadre_file(table: Table, *, known_student_nos: Set[str]) -> ParseResult[CadreEntry]:
    """Validate a 校內幹部 file; the result lists every problem, sorted by (row, column)."""
    sheet = Sheet(table, CADRE_COLUMNS)
    if sheet.errors:  # a missing or repeated column: name it once rather than on every row
        return sheet.result([])
    seen = FirstSeen()
    rows: list[CadreEntry] = []
    for reader in sheet.rows():

        def report(field: str, code: str, message: str, reader: RowReader = reader) -> None:
            reader.error(COLUMN_OF_FIELD[field], code, message)

        entry = check_entry(
            _raw_cells(reader), position=reader.row, known_student_nos=known_student_nos,
            report=report,
        )  # fmt: skip
        if entry is None:
            continue
        if first := seen.earlier("\x1f".join(map(str, entry.key)), reader.row):
            message = f"與第 {first} 列重複（學號、學年、學期、單位名稱與擔任職務皆相同）"
            reader.error(ROLE_TITLE, "duplicate_record", message)
            continue
        rows.append(entry)
    return sheet.result(rows)


# The JSON body of the 校務行政系統 ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """One problem of one record of a sync body: `index` is 0-based."""

    index: int
    field: str
    code: str
    message: str


def parse_cadre_records(
    records: list[Mapping[str, Any]], *, known_student_nos: Set[str]
) -> tuple[list[CadreEntry], list[RecordProblem]]:
    """Validate a sync body's records; every problem is listed with its index and field."""
    problems: list[RecordProblem] = []
    entries: list[CadreEntry] = []
    first_of: dict[CadreKey, int] = {}
    for index, raw in enumerate(records):

        def report(field: str, code: str, message: str, index: int = index) -> None:
            problems.append(RecordProblem(index, field, code, message))

        entry = check_entry(raw, position=index, known_student_nos=known_student_nos,
                            report=report)  # fmt: skip
        if entry is None:
            continue
        first = first_of.setdefault(entry.key, index)
        if first != index:
            message = f"與索引 {first} 的紀錄重複（學號、學年、學期、單位名稱與擔任職務皆相同）"
            report("role_title", "duplicate_record", message)
            continue
        entries.append(entry)
    return entries, problems


# The downloadable template -------------------------------------------------------------------

TEMPLATE_TITLE = "校內幹部"
_NOTES: dict[str, Note] = {  # column name → (必填, 說明, 範例)
    "學年": ("是", "民國學年度", "104"),
    "學期": ("是", "1 或 2", "1"),
    "學號": ("是", "校內學號，以文字輸入以保留開頭的 0，須先匯入學生資料", "104590000"),
    "單位名稱": ("是", f"班級、社團或單位的名稱，{MAX_NAME_LENGTH} 字以內", "熱舞社"),
    "開始日期": ("是", "民國 1040907、104/09/07 或西元 2015-09-07", "1040907"),
    "結束日期": ("否", "同開始日期的格式，不可早於開始日期；尚未卸任可留空", "1070907"),
    "擔任職務": ("是", f"職務名稱，{MAX_NAME_LENGTH} 字以內", "人員"),
    "幹部等級": ("是", "1 校級、2 班級、3 社團（只能為 1～3）", "3"),
}
_TEXT_COLUMNS = frozenset({"學號", "開始日期", "結束日期"})
_CHOICES: dict[str, tuple[str, ...]] = {"學期": ("1", "2"), "幹部等級": ("1", "2", "3")}
_USAGE = TEMPLATE_USAGE + (
    "學年、學期、學號、單位名稱與擔任職務相同的列視為同一筆紀錄，重新匯入會更新其等級與日期。"
)


def template_xlsx() -> bytes:
    """An xlsx template: a 校內幹部 sheet with the header row, and a 說明 sheet with notes."""
    return template_workbook(TEMPLATE_TITLE, CADRE_COLUMNS, _NOTES, _TEXT_COLUMNS, _CHOICES,
                             usage=_USAGE, column_width=14, required_width=8)  # fmt: skip
