"""Reading the batch-import workbook (one sheet per category) and validating every row.

Pure and synchronous: async callers run the kit's `read_workbook` (every sheet) and
`parse_records` through `in_worker`.
A category's sheet is named by the category's seed title (競賽參與; the central sheet's name,
競賽參與紀錄, is accepted too). Its headings: 學年度, 學號, each field's label
(`categories.CATEGORIES`), 內容簡述, 影音檔案外部連結; 姓名, 班級 and 座號 may be added for the
reader's convenience and are ignored. The 說明 sheet, and empty sheets of any name, are skipped.
Error messages never repeat a cell's value.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from datetime import date
from typing import Any

from licheng.kit.tabular import (
    Column,
    FirstSeen,
    RowError,
    RowReader,
    Sheet,
    Table,
    clean_text,
    header_key,
)
from licheng.performances.categories import (
    BRIEF_LABEL,
    CATEGORIES,
    VIDEO_LABEL,
    CategorySpec,
    FieldKind,
    clean_fields,
)
from licheng.performances.certificates.parsing import normalise_code
from licheng.performances.models import Category

MAX_IMPORT_ROWS = 20_000
"""Data rows of the whole workbook, every sheet together."""
MIN_YEAR, MAX_YEAR = 100, 200
BRIEF_MAX = (
    2000  # the largest brief_max_chars a school may set; each year's own cap is checked later
)
VIDEO_MAX = 500

NOTES_SHEET = "說明"
YEAR = Column("學年度", aliases=("學年",))
STUDENT_NO = Column("學號", max_length=32)
BRIEF = Column(BRIEF_LABEL, max_length=BRIEF_MAX)
VIDEO = Column(VIDEO_LABEL, required=False, max_length=VIDEO_MAX)
IGNORED_HEADINGS = ("姓名", "班級", "座號")
"""Headings a manager may add to read the sheet more easily; their cells are never read."""

_DIGITS = re.compile(r"[0-9]+")
_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)
_XLSX_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class ImportRow:
    """A valid row: one record to create (unless its `import_key` is already stored)."""

    sheet: str
    row: int
    category: Category
    student_id: uuid.UUID
    academic_year: int
    fields: dict[str, Any]
    certificate_code: str | None
    brief: str
    video_url: str | None
    import_key: str


@dataclass(frozen=True)
class YearCheck:
    """A row whose 學年度 was read, valid or not: the caller checks that year's 內容簡述 cap and
    名冊 lock, which it knows."""

    sheet: str
    row: int
    academic_year: int
    brief_length: int | None


@dataclass(frozen=True)
class ParsedWorkbook:
    """The valid rows, every problem found, and the year checks left to the caller."""

    rows: list[ImportRow]
    errors: list[RowError]
    checks: list[YearCheck]


def is_xlsx(filename: str) -> bool:
    """Whether the file name is an xlsx workbook's."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1].lower().endswith(_XLSX_SUFFIXES)


def sheet_category(title: str) -> Category | None:
    """The category a sheet name stands for (its seed title or its central sheet name)."""
    key = header_key(title)
    for spec in CATEGORIES.values():
        if key in (header_key(spec.title), header_key(spec.sheet)):
            return spec.key
    return None


def field_columns(spec: CategorySpec) -> dict[str, Column]:
    """The category's field columns, by field name."""
    return {
        f.name: Column(f.label, required=f.required, max_length=f.max_length) for f in spec.fields
    }


def sheet_columns(spec: CategorySpec) -> tuple[Column, ...]:
    """Every column of a category's sheet, in template order."""
    return (YEAR, STUDENT_NO, *field_columns(spec).values(), BRIEF, VIDEO)


def import_key(
    student_id: uuid.UUID,
    academic_year: int,
    category: Category,
    fields: Mapping[str, Any],
    brief: str,
) -> str:
    """sha256 of the record's identity: student, year, category, cleaned fields and brief."""
    canonical = json.dumps(
        [str(student_id), academic_year, category.value, dict(fields), brief],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _year(reader: RowReader) -> int | None:
    text = reader.text(YEAR, identifier=True)
    if text is None:
        return None
    digits = text.removesuffix("學年度").removesuffix("學年")
    if not _DIGITS.fullmatch(digits) or not MIN_YEAR <= int(digits) <= MAX_YEAR:
        label = reader.sheet.label(YEAR)
        reader.error(
            YEAR, "invalid_year", f"「{label}」必須是 {MIN_YEAR} 到 {MAX_YEAR} 的民國學年度"
        )
        return None
    return int(digits)


def _plain_text(reader: RowReader, column: Column) -> str | None:
    value = reader.cell(column)
    if isinstance(value, date):
        value = value.isoformat()
    text = None if value is None else clean_text(value) or None
    if text is None:
        if column.required and reader.sheet.has(column):
            reader.error(column, "required", f"「{reader.sheet.label(column)}」不可空白")
        return None
    if len(text) > column.max_length:
        label = reader.sheet.label(column)
        reader.error(column, "too_long", f"「{label}」不可超過 {column.max_length} 個字")
        return None
    return text


def _video(reader: RowReader) -> str | None:
    text = _plain_text(reader, VIDEO)
    if text is not None and not _URL.fullmatch(text):
        label = reader.sheet.label(VIDEO)
        message = f"「{label}」必須是 http:// 或 https:// 開頭的網址"
        reader.error(VIDEO, "invalid_url", message)
        return None
    return text


class _SheetParser:
    def __init__(
        self,
        table: Table,
        spec: CategorySpec,
        students: Mapping[str, uuid.UUID],
        certificates: Set[str],
    ) -> None:
        self.spec = spec
        self.columns = field_columns(spec)
        self.sheet = Sheet(table, sheet_columns(spec))
        self.students = students
        self.certificates = certificates
        self._check_headings(table)

    def _check_headings(self, table: Table) -> None:
        known = {header_key(c.name) for c in sheet_columns(self.spec)}
        known |= {header_key(a) for c in sheet_columns(self.spec) for a in c.aliases}
        known |= {header_key(h) for h in IGNORED_HEADINGS}
        for heading in table.header:
            if heading.strip() and header_key(heading) not in known:
                message = f"{self.spec.title}沒有「{heading}」這個欄位，請使用範本的欄位名稱"
                self.sheet.errors.append(
                    RowError(table.sheet, 1, heading, "unknown_column", message)
                )

    def parse(self, checks: list[YearCheck]) -> tuple[list[ImportRow], list[RowError]]:
        if self.sheet.errors:  # a missing, repeated or unknown heading: rows are not read
            return [], self.sheet.result([]).errors
        seen = FirstSeen()
        rows: list[ImportRow] = []
        for reader in self.sheet.rows():
            row = self._row(reader, seen, checks)
            if row is not None:
                rows.append(row)
        return rows, self.sheet.result(rows).errors

    def _row(self, reader: RowReader, seen: FirstSeen, checks: list[YearCheck]) -> ImportRow | None:
        year = _year(reader)
        student_no = reader.text(STUDENT_NO, identifier=True)
        student_id = None if student_no is None else self.students.get(student_no)
        if student_no is not None and student_id is None:
            reader.error(STUDENT_NO, "unknown_student", "找不到此學號的學生")
        raw = {name: reader.cell(column) for name, column in self.columns.items()}
        fields, problems = clean_fields(self.spec.key, raw)
        for problem in problems:
            reader.error(self.columns[problem.field], problem.code, problem.message)
        certificate_code = self._certificate(reader, fields)
        brief = _plain_text(reader, BRIEF)
        video_url = _video(reader)
        if year is not None:
            length = None if brief is None else len(brief)
            checks.append(YearCheck(self.sheet.table.sheet, reader.row, year, length))
        if reader.failed or year is None or student_id is None or brief is None:
            return None
        key = import_key(student_id, year, self.spec.key, fields, brief)
        if first := seen.earlier(key, reader.row):
            reader.error(STUDENT_NO, "duplicate_row", f"與第 {first} 列的紀錄完全相同")
            return None
        return ImportRow(
            sheet=self.sheet.table.sheet,
            row=reader.row,
            category=self.spec.key,
            student_id=student_id,
            academic_year=year,
            fields=fields,
            certificate_code=certificate_code,
            brief=brief,
            video_url=video_url,
            import_key=key,
        )

    def _certificate(self, reader: RowReader, fields: dict[str, Any]) -> str | None:
        for spec in self.spec.fields:
            if spec.kind != FieldKind.CERTIFICATE or spec.name not in fields:
                continue
            code = normalise_code(str(fields[spec.name]))
            if code not in self.certificates:
                message = f"{spec.label}不在學校的檢定證照清單中，或該項目已停用"
                reader.error(self.columns[spec.name], "unknown_certificate", message)
                return None
            fields[spec.name] = code
            return code
        return None


def parse_records(
    tables: Iterable[Table],
    *,
    students: Mapping[str, uuid.UUID],
    certificates: Set[str],
) -> ParsedWorkbook:
    """Validate every category sheet: 學號 among `students` (學號 → id of this school), 證照代碼
    among `certificates` (the active catalog's codes), each row's fields by its category.

    Each year's 內容簡述 cap and 名冊 lock are checked by the caller, who knows them, on
    `checks`: every row whose 學年度 was read, whatever else was wrong with it.
    """
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    checks: list[YearCheck] = []
    seen: dict[Category, str] = {}
    for table in tables:
        if header_key(table.sheet) == header_key(NOTES_SHEET):
            continue
        category = sheet_category(table.sheet)
        if category is None:
            if table.header or table.rows:
                message = "無法辨識的工作表名稱，工作表須以類別命名（例如 競賽參與），說明請見範本"
                errors.append(RowError(table.sheet, 1, "", "unknown_sheet", message))
            continue
        if category in seen:
            message = f"與工作表「{seen[category]}」是同一個類別，請合併為一個工作表"
            errors.append(RowError(table.sheet, 1, "", "duplicate_sheet", message))
            continue
        seen[category] = table.sheet
        if not table.header and not table.rows:
            continue  # an empty sheet of a category: nothing to import
        sheet_rows, sheet_errors = _SheetParser(
            table, CATEGORIES[category], students, certificates
        ).parse(checks)
        rows.extend(sheet_rows)
        errors.extend(sheet_errors)
    return ParsedWorkbook(rows=rows, errors=errors, checks=checks)
