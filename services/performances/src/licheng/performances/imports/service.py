"""The 多元項目管理者's batch import of 多元表現 records (seed 4-5), all or nothing.

Each row becomes a record with origin `imported` among the student's self-filled items; the
student then attaches the proof. A row's `import_key` (student, year, category, cleaned fields,
brief) makes re-importing the same workbook a no-op: rows whose key is stored are skipped and
counted as unchanged. Rows of a year whose 名冊 25 is submitted (locked) are row problems, so one
answer lists everything to fix. The fill window does not apply: this is the school's import.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import PerformanceCreated
from licheng.contracts.rosters import RosterCode
from licheng.kit.errors import BadRequest, InvalidRows, Locked
from licheng.kit.roster import PersonKind, local_numbers
from licheng.kit.tabular import RowError, in_worker, read_workbook
from licheng.performances.categories import BRIEF_LABEL
from licheng.performances.certificates import repository as catalog
from licheng.performances.certificates import service as certificates
from licheng.performances.imports import repository
from licheng.performances.imports.parsing import (
    MAX_IMPORT_ROWS,
    YEAR,
    YearCheck,
    is_xlsx,
    parse_records,
)
from licheng.performances.imports.template import template_xlsx
from licheng.performances.locks.service import ensure_unlocked
from licheng.performances.models import Origin, Performance
from licheng.performances.parameters import service as parameters
from licheng.performances.records.changes import record_performance_change


class CategoryCounts(BaseModel):
    created: int = 0
    unchanged: int = 0


class RecordImportSummary(BaseModel):
    created: int = Field(description="新建立的紀錄")
    unchanged: int = Field(description="先前已匯入過、這次略過的紀錄")
    by_category: dict[str, CategoryCounts] = Field(
        description="各類別（category key，例如 competition）的筆數；只列出檔案中有資料的類別"
    )


async def template(session: AsyncSession, *, school_code: str) -> bytes:
    """The import template, listing the school's active 檢定證照 items on its 說明 sheet."""
    active = await catalog.active_catalog(session, school_code)
    return await in_worker(template_xlsx, [(c.code, c.name) for c in active])


async def _year_problems(
    session: AsyncSession, school_code: str, checks: list[YearCheck]
) -> list[RowError]:
    """Each year's 內容簡述 cap and 名冊 25 lock, as row problems."""
    by_year: dict[int, list[YearCheck]] = defaultdict(list)
    for check in checks:
        by_year[check.academic_year].append(check)
    problems: list[RowError] = []
    for year, year_rows in sorted(by_year.items()):
        cap = (await parameters.get(session, school_code, year)).brief_max_chars
        for check in year_rows:
            if check.brief_length is not None and check.brief_length > cap:
                message = f"{BRIEF_LABEL}最多 {cap} 字（{year} 學年度的參數設定）"
                problems.append(RowError(check.sheet, check.row, BRIEF_LABEL, "too_long", message))
        try:
            await ensure_unlocked(session, school_code, RosterCode.PERFORMANCES, year)
        except Locked as locked:
            problems.extend(
                RowError(c.sheet, c.row, YEAR.name, locked.error_code, locked.message)
                for c in year_rows
            )
    return problems


def _refuse(errors: list[RowError], sheet_order: list[str]) -> None:
    if not errors:
        return
    order = {name: index for index, name in enumerate(sheet_order)}
    ordered = sorted(errors, key=lambda e: (order.get(e.sheet, len(order)), e.row, e.column,
                                            e.code))  # fmt: skip
    raise InvalidRows(
        f"多元表現匯入資料有 {len(ordered)} 個問題，未寫入任何資料",
        detail=[error.as_detail() for error in ordered],
    )


async def import_records(
    session: AsyncSession,
    *,
    school_code: str,
    data: bytes,
    filename: str,
    actor_id: uuid.UUID | None,
) -> RecordImportSummary:
    """Create the workbook's records not imported before; nothing at all when any row is bad."""
    if not is_xlsx(filename):
        raise BadRequest("請上傳 Excel（.xlsx）活頁簿，可先下載匯入範本", code="file_unreadable")
    students = await local_numbers(session, school_code, PersonKind.STUDENT)
    active = await certificates.active_codes(session, school_code=school_code)
    tables = await in_worker(read_workbook, data, max_rows=MAX_IMPORT_ROWS)
    parsed = await in_worker(parse_records, tables, students=students, certificates=active)
    errors = [*parsed.errors, *await _year_problems(session, school_code, parsed.checks)]
    _refuse(errors, [table.sheet for table in tables])

    existing = await repository.existing_import_keys(
        session, school_code, (row.import_key for row in parsed.rows)
    )
    by_category: dict[str, CategoryCounts] = {}
    created: list[Performance] = []
    for row in parsed.rows:
        counts = by_category.setdefault(row.category.value, CategoryCounts())
        if row.import_key in existing:
            counts.unchanged += 1
            continue
        counts.created += 1
        record = Performance(
            school_code=school_code,
            student_id=row.student_id,
            academic_year=row.academic_year,
            category=row.category,
            origin=Origin.IMPORTED,
            fields=row.fields,
            certificate_code=row.certificate_code,
            brief=row.brief,
            video_url=row.video_url,
            import_key=row.import_key,
        )
        session.add(record)
        created.append(record)
    if created:
        await session.flush()  # a concurrent import of the same rows is a 409, never a 500
    for record in created:
        await record_performance_change(
            session, record, event=PerformanceCreated, actor_id=actor_id, files=[]
        )
    return RecordImportSummary(
        created=len(created),
        unchanged=len(parsed.rows) - len(created),
        by_category=by_category,
    )
