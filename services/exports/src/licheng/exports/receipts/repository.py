"""Queries and writes of 收訖明細 imports, records, windows, confirmations, reports, and the
per-student rows kept from completed submissions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.rosters import RosterCode
from licheng.exports.models import (
    ReceiptConfirmation,
    ReceiptImport,
    ReceiptRecord,
    ReceiptReport,
    ReceiptWindow,
    ReportStatus,
    Submission,
    SubmissionState,
    SubmittedRecord,
)
from licheng.exports.rosters.build import SubmittedRow
from licheng.exports.rosters.layout import IDENTIFIER_COLUMNS, roster_sheets
from licheng.kit.roster import ENROLLED, KnownPerson, PersonKind


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, (float, Decimal)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def keep_submitted_rows(
    session: AsyncSession, *, submission: Submission, rows: Sequence[SubmittedRow]
) -> int:
    """Keep a completed submission's rows per student, by the sheet's column names."""
    columns = {
        sheet.name: sheet.columns[len(IDENTIFIER_COLUMNS) :]
        for sheet in roster_sheets(RosterCode(submission.roster_code))
    }
    serials: dict[tuple[uuid.UUID, str], int] = {}
    for row in rows:
        serial = serials[(row.student_id, row.sheet)] = (
            serials.get((row.student_id, row.sheet), 0) + 1
        )
        names = columns.get(row.sheet, ())
        session.add(
            SubmittedRecord(
                submission_id=submission.id,
                school_code=submission.school_code,
                roster_code=submission.roster_code,
                student_id=row.student_id,
                sheet=row.sheet,
                serial=serial,
                fields={
                    name: _json_value(value) for name, value in zip(names, row.cells, strict=False)
                },
            )
        )
    return len(rows)


async def latest_completed_submission(
    session: AsyncSession, *, school_code: str, roster_code: str, academic_year: int, semester: int
) -> Submission | None:
    """The newest completed submission of a 名冊 and term."""
    stmt = (
        select(Submission)
        .where(
            Submission.school_code == school_code,
            Submission.roster_code == roster_code,
            Submission.academic_year == academic_year,
            Submission.semester == semester,
            Submission.state == SubmissionState.COMPLETED,
        )
        .order_by(col(Submission.finished_at).desc())
        .limit(1)
    )
    return (await session.exec(stmt)).first()


async def submitted_rows(
    session: AsyncSession, *, submission_id: uuid.UUID, student_id: uuid.UUID
) -> list[SubmittedRecord]:
    """A student's rows of one submission, in sheet and row order."""
    stmt = (
        select(SubmittedRecord)
        .where(
            SubmittedRecord.submission_id == submission_id,
            SubmittedRecord.student_id == student_id,
        )
        .order_by(col(SubmittedRecord.sheet), col(SubmittedRecord.serial))
    )
    return list((await session.exec(stmt)).all())


async def find_import(
    session: AsyncSession, *, school_code: str, academic_year: int, semester: int, content_hash: str
) -> ReceiptImport | None:
    """The import of this very package in this term, if it was imported already."""
    stmt = select(ReceiptImport).where(
        ReceiptImport.school_code == school_code,
        ReceiptImport.academic_year == academic_year,
        ReceiptImport.semester == semester,
        ReceiptImport.content_hash == content_hash,
    )
    return (await session.exec(stmt)).first()


async def term_imports(
    session: AsyncSession, *, school_code: str, academic_year: int, semester: int
) -> list[ReceiptImport]:
    """The term's imports, oldest first."""
    stmt = (
        select(ReceiptImport)
        .where(
            ReceiptImport.school_code == school_code,
            ReceiptImport.academic_year == academic_year,
            ReceiptImport.semester == semester,
        )
        .order_by(col(ReceiptImport.imported_at))
    )
    return list((await session.exec(stmt)).all())


async def current_imports(
    session: AsyncSession, *, school_code: str, academic_year: int, semester: int
) -> dict[str, uuid.UUID]:
    """名冊 word → the newest import holding it: a later package replaces an earlier one's."""
    current: dict[str, uuid.UUID] = {}
    for row in await term_imports(
        session, school_code=school_code, academic_year=academic_year, semester=semester
    ):
        for kind in row.roster_kinds:
            current[kind] = row.id
    return current


async def current_records(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    student_ids: Sequence[uuid.UUID],
) -> list[ReceiptRecord]:
    """The students' records of the term's current imports, in file order."""
    current = await current_imports(
        session, school_code=school_code, academic_year=academic_year, semester=semester
    )
    if not current or not student_ids:
        return []
    stmt = (
        select(ReceiptRecord)
        .where(
            ReceiptRecord.school_code == school_code,
            ReceiptRecord.academic_year == academic_year,
            ReceiptRecord.semester == semester,
            col(ReceiptRecord.student_id).in_(list(student_ids)),
            col(ReceiptRecord.import_id).in_(list(set(current.values()))),
        )
        .order_by(col(ReceiptRecord.kind), col(ReceiptRecord.sheet), col(ReceiptRecord.serial))
    )
    return [r for r in (await session.exec(stmt)).all() if current.get(r.kind) == r.import_id]


async def get_record(session: AsyncSession, record_id: uuid.UUID) -> ReceiptRecord | None:
    """One record."""
    return await session.get(ReceiptRecord, record_id)


async def records_by_ids(
    session: AsyncSession, record_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ReceiptRecord]:
    """Records by id (unknown ids left out)."""
    if not record_ids:
        return {}
    stmt = select(ReceiptRecord).where(col(ReceiptRecord.id).in_(list(set(record_ids))))
    return {r.id: r for r in (await session.exec(stmt)).all()}


async def get_window(
    session: AsyncSession, *, school_code: str, academic_year: int, semester: int
) -> ReceiptWindow | None:
    """The term's confirmation window, if set."""
    return await session.get(ReceiptWindow, (school_code, academic_year, semester))


async def get_confirmation(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    student_id: uuid.UUID,
) -> ReceiptConfirmation | None:
    """A student's confirmation of the term, if given."""
    return await session.get(
        ReceiptConfirmation, (school_code, academic_year, semester, student_id)
    )


async def term_confirmations(
    session: AsyncSession, *, school_code: str, academic_year: int, semester: int
) -> dict[uuid.UUID, ReceiptConfirmation]:
    """Every confirmation of the term, by student."""
    stmt = select(ReceiptConfirmation).where(
        ReceiptConfirmation.school_code == school_code,
        ReceiptConfirmation.academic_year == academic_year,
        ReceiptConfirmation.semester == semester,
    )
    return {c.student_id: c for c in (await session.exec(stmt)).all()}


async def get_report(session: AsyncSession, report_id: uuid.UUID) -> ReceiptReport | None:
    """One report."""
    return await session.get(ReceiptReport, report_id)


async def term_reports(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    student_ids: Sequence[uuid.UUID] | None = None,
    roster_codes: Sequence[str | None] | None = None,
    class_code: str | None = None,
    status: ReportStatus | None = None,
) -> list[ReceiptReport]:
    """The term's reports, oldest first, filtered."""
    stmt = select(ReceiptReport).where(
        ReceiptReport.school_code == school_code,
        ReceiptReport.academic_year == academic_year,
        ReceiptReport.semester == semester,
    )
    if student_ids is not None:
        stmt = stmt.where(col(ReceiptReport.student_id).in_(list(student_ids)))
    if class_code is not None:
        stmt = stmt.where(ReceiptReport.class_code == class_code)
    if status is not None:
        stmt = stmt.where(ReceiptReport.status == status)
    rows = list((await session.exec(stmt.order_by(col(ReceiptReport.created_at)))).all())
    if roster_codes is not None:
        rows = [r for r in rows if r.roster_code in roster_codes]
    return rows


async def enrolled_students(
    session: AsyncSession, *, school_code: str, class_codes: Sequence[str] | None
) -> list[KnownPerson]:
    """The school's enrolled students (of the classes, when given) by class and seat."""
    stmt = select(KnownPerson).where(
        KnownPerson.school_code == school_code,
        KnownPerson.kind == PersonKind.STUDENT,
        col(KnownPerson.status).in_(ENROLLED),
    )
    if class_codes is not None:
        stmt = stmt.where(col(KnownPerson.class_code).in_(list(class_codes)))
    stmt = stmt.order_by(
        col(KnownPerson.class_code), col(KnownPerson.seat_no), col(KnownPerson.local_no)
    )
    return list((await session.exec(stmt)).all())
