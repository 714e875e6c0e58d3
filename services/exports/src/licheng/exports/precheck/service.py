"""The 預檢 walk: the same students, records and order as the build, checking instead of writing.

Each problem names the sheet and the row the record takes in the workbook (row 1 is the header;
None when the record cannot be written at all), the student (學號, 班級, 座號, 姓名), the record
and a stable code with a zh-TW message. Codes (docs/exports.md): `unknown_student`,
`student_not_enrolled`, `missing_identifiers`, `brief_too_long`, `not_certified`,
`too_many_selected`, `attachment_missing`, `attachment_hash_mismatch`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

from minio.error import S3Error

from licheng.contracts.rosters import RosterCode
from licheng.exports.models import CadreRow, OutcomeRow
from licheng.exports.rosters import repository
from licheng.exports.rosters.build import (
    CHUNK,
    IdentifierSource,
    Progress,
    RosterTerm,
    record_id,
    sheet_of,
)
from licheng.exports.rosters.repository import RosterRecord, StudentRecords
from licheng.kit.db import SessionFactory
from licheng.kit.storage import ObjectStorage

BRIEF_MAX = 100  # 簡述 at most 100 characters (docs/domain.md §1.3)
SELECTION_CAPS = {
    RosterCode.COURSE_OUTCOMES: 3,  # per semester (docs/domain.md §1.4)
    RosterCode.PERFORMANCES: 10,  # per academic year
}
ENROLLED = "在籍"


def _problem(
    code: str,
    message: str,
    *,
    entry: StudentRecords,
    sheet: str | None = None,
    row: int | None = None,
    record: RosterRecord | None = None,
) -> dict[str, Any]:
    student = entry.student
    return {
        "code": code,
        "message": message,
        "sheet": sheet,
        "row": row,
        "record_id": str(record_id(record)) if record is not None else None,
        "student_id": str(entry.student_id),
        "student_no": student.local_no if student else None,
        "name": student.name if student else None,
        "class_code": student.class_code if student else None,
        "seat_no": student.seat_no if student else None,
    }


def _file_digest(storage: ObjectStorage, bucket: str, key: str) -> str | None:
    """The stored object's SHA-256, or None when it is missing."""
    try:
        response = storage.client.get_object(bucket, key)
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
            return None
        raise
    try:
        digest = hashlib.sha256()
        for chunk in response.stream(CHUNK):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        response.close()
        response.release_conn()


def _student_problems(
    entry: StudentRecords, roster_code: RosterCode, known: bool
) -> Iterator[dict[str, Any]]:
    student = entry.student
    if student is None:
        yield _problem("unknown_student", "身分系統查無此學生", entry=entry)
        return
    if student.status != ENROLLED:
        yield _problem(
            "student_not_enrolled",
            f"學生目前學籍狀態為「{student.status or '未知'}」，不是在籍",
            entry=entry,
        )
    if not known:
        yield _problem(
            "missing_identifiers",
            "缺少身分證號或出生日期，此學生的資料無法寫入名冊；請至學生資料匯入補齊",
            entry=entry,
        )
    cap = SELECTION_CAPS.get(roster_code)
    if cap is not None and len(entry.records) > cap:
        yield _problem(
            "too_many_selected",
            f"勾選 {len(entry.records)} 筆，超過上限 {cap} 筆",
            entry=entry,
        )


async def run_precheck(
    session_factory: SessionFactory,
    *,
    term: RosterTerm,
    storage: ObjectStorage,
    uploads_bucket: str,
    identifiers: IdentifierSource,
    purpose: str,
    progress: Progress,
) -> dict[str, Any]:
    """Walk the roster as the build would and answer every problem found, with counts."""
    async with session_factory() as session:
        student_ids = await repository.ordered_student_ids(
            session,
            roster_code=term.roster_code,
            school_code=term.school_code,
            academic_year=term.academic_year,
            semester=term.semester,
        )
        rows_total, files_total = await repository.count_records(
            session,
            roster_code=term.roster_code,
            school_code=term.school_code,
            academic_year=term.academic_year,
            semester=term.semester,
        )
    total, done = rows_total + files_total, 0
    await progress(done, total)
    problems: list[dict[str, Any]] = []
    next_row: Counter[str] = Counter()
    async for page in repository.student_pages(
        session_factory,
        roster_code=term.roster_code,
        school_code=term.school_code,
        academic_year=term.academic_year,
        semester=term.semester,
        student_ids=student_ids,
    ):
        known = await identifiers.fetch(
            school_code=term.school_code,
            student_ids=[s.student_id for s in page if s.student is not None],
            purpose=purpose,
        )
        for entry in page:
            found = known.get(entry.student_id)
            problems.extend(_student_problems(entry, term.roster_code, found is not None))
            for record in entry.records:
                sheet = sheet_of(record)
                row: int | None = None
                if found is not None:
                    next_row[sheet] += 1
                    row = next_row[sheet] + 1  # row 1 is the header
                problems.extend(
                    await _record_problems(
                        entry, record, sheet, row, storage=storage, bucket=uploads_bucket
                    )
                )
                done += 1 + (0 if isinstance(record, CadreRow) else len(record.files))
            await progress(done, total)
    return {
        "problems": problems,
        "counts": {
            "students": len(student_ids),
            "rows": rows_total,
            "files": files_total,
            "problems": len(problems),
        },
    }


async def _record_problems(
    entry: StudentRecords,
    record: RosterRecord,
    sheet: str,
    row: int | None,
    *,
    storage: ObjectStorage,
    bucket: str,
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def add(code: str, message: str) -> None:
        found.append(_problem(code, message, entry=entry, sheet=sheet, row=row, record=record))

    if isinstance(record, CadreRow):
        return found
    if len(record.brief) > BRIEF_MAX:
        add("brief_too_long", f"簡述 {len(record.brief)} 字，超過 {BRIEF_MAX} 字上限")
    if isinstance(record, OutcomeRow) and record.status != "certified":
        add("not_certified", "已勾選的課程學習成果尚未通過認證")
    for index, ref in enumerate(record.files, start=1):
        digest = await asyncio.to_thread(_file_digest, storage, bucket, str(ref["key"]))
        if digest is None:
            add("attachment_missing", f"第 {index} 個附件不在檔案儲存中")
        elif digest != ref.get("sha256"):
            add("attachment_hash_mismatch", f"第 {index} 個附件內容與上傳時的雜湊值不符")
    return found


def problem_key(problem: dict[str, Any]) -> tuple[Any, ...]:
    """Sort key: by sheet and row, students' own problems first."""
    return (problem["sheet"] or "", problem["row"] or 0, problem["code"])
