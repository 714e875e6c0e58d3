"""What the 收訖明細 API does, between the router and the repository (docs/receipts.md)."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import (
    ReceiptAnswered,
    ReceiptConfirmed,
    ReceiptImported,
    ReceiptReported,
)
from licheng.contracts.rosters import ROSTER_TITLES
from licheng.exports.models import (
    ReceiptConfirmation,
    ReceiptImport,
    ReceiptRecord,
    ReceiptReport,
    ReceiptWindow,
    ReportAnswer,
    ReportStatus,
)
from licheng.exports.receipts import repository
from licheng.exports.receipts.compare import ComparedSheet, compare_roster
from licheng.exports.receipts.matching import Pair, StudentMatcher
from licheng.exports.receipts.package import KIND_ROSTERS, ReceiptPackage, read_package
from licheng.exports.receipts.schemas import (
    ANSWER_TITLES,
    ERROR_CODE_TITLES,
    ClassStatus,
    ComparedRecordPublic,
    ComparedSheetPublic,
    ErrorCode,
    ImportPublic,
    MyReceipt,
    ReportPublic,
    RosterReceipt,
    UnmatchedEntry,
    WindowPublic,
    WindowRequest,
)
from licheng.exports.rosters.layout import cover_semester
from licheng.exports.submissions.rosters import rosters_of
from licheng.kit.changes import record_change
from licheng.kit.errors import AppError, BadRequest, Conflict, Forbidden, NotFound, WindowClosed
from licheng.kit.permissions import Grant
from licheng.kit.roster import KnownPerson, get_person, people_by_ids
from licheng.kit.timeutil import TAIPEI, utcnow

MIN_WINDOW = timedelta(days=3)


class WindowTooShort(AppError):
    """A confirmation window under 3 days (DOMAIN §1.2)."""

    status_code: ClassVar[int] = 422
    code: ClassVar[str] = "receipt_window_too_short"
    default_message: ClassVar[str] = "學生確認期間至少須 3 天"


MAX_PACKAGE_BYTES = 100 * 1024 * 1024


def term_text(academic_year: int, semester: int) -> str:
    """`114 學年度第 1 學期` (學期 0: the whole year)."""
    return f"{academic_year} 學年度" + (f"第 {semester} 學期" if semester else "")


def roc_moment(moment: datetime) -> str:
    """A moment as people read it: 民國 date and Taiwan time."""
    local = moment.astimezone(TAIPEI)
    return f"{local.year - 1911}/{local.month:02d}/{local.day:02d} {local:%H:%M}"


def window_public(window: ReceiptWindow, *, now: datetime | None = None) -> WindowPublic:
    """A window as the API answers it."""
    moment = now or utcnow()
    return WindowPublic(
        academic_year=window.academic_year,
        semester=window.semester,
        opens_at=window.opens_at,
        closes_at=window.closes_at,
        is_open=window.opens_at <= moment < window.closes_at,
    )


def import_public(row: ReceiptImport, *, already: bool = False) -> ImportPublic:
    """An import as the API answers it."""
    return ImportPublic(
        id=row.id,
        academic_year=row.academic_year,
        semester=row.semester,
        filename=row.filename,
        roster_kinds=row.roster_kinds,
        content_hash=row.content_hash,
        counts=row.counts,
        unmatched=[UnmatchedEntry.model_validate(u) for u in row.unmatched],
        imported_by=row.imported_by,
        imported_at=row.imported_at,
        already_imported=already,
    )


def _check_rosters(grant: Grant, package: ReceiptPackage) -> None:
    allowed = rosters_of(grant)
    for file in package.files:
        if file.roster_code is None and not grant.school_wide:
            raise Forbidden(f"「{file.kind}」收訖明細僅限系統管理者匯入", code="roster_not_allowed")
        if file.roster_code is not None and file.roster_code.value not in allowed:
            raise Forbidden(
                f"您沒有「{ROSTER_TITLES[file.roster_code]}」的提交權限，不能匯入其收訖明細",
                code="roster_not_allowed",
                detail={"roster_code": file.roster_code.value},
            )


async def import_package(
    session: AsyncSession,
    *,
    grant: Grant,
    matcher: StudentMatcher,
    data: bytes,
    filename: str,
    password: str,
    academic_year: int,
    semester: int,
) -> tuple[ReceiptImport, bool]:
    """Verify, match and keep a package; (the import, whether it was imported before)."""
    if len(data) > MAX_PACKAGE_BYTES:
        raise BadRequest("收訖明細檔案過大（上限 100 MB）", code="receipt_too_large")
    package = await asyncio.to_thread(read_package, data, password=password)
    _check_rosters(grant, package)
    school_code = grant.school_code
    existing = await repository.find_import(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        content_hash=package.content_hash,
    )
    if existing is not None:
        return existing, True
    await session.close()  # nothing written yet: give the connection back while identity answers
    receipt = ReceiptImport(
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        content_hash=package.content_hash,
        filename=filename[:200],
        roster_kinds=package.kinds,
        imported_by=grant.principal.person_id,
    )
    pairs: list[Pair] = []
    places: list[tuple[int, int]] = []  # (file index, entry index) of each pair
    unmatched: list[dict[str, object]] = []
    for f_index, file in enumerate(package.files):
        for e_index, entry in enumerate(file.entries):
            if entry.birth_date is None:
                unmatched.append(
                    {"file": file.name, "kind": file.kind, "position": entry.position,
                     "reason": "birth_date_unreadable"}
                )  # fmt: skip
                continue
            pairs.append(Pair(entry.national_id, entry.birth_date))
            places.append((f_index, e_index))
    ids = (
        await matcher.match(
            school_code=school_code, pairs=pairs, purpose=f"收訖明細匯入 {receipt.id}"
        )
        if pairs
        else []
    )
    records = 0
    students: set[uuid.UUID] = set()
    for (f_index, e_index), student_id in zip(places, ids, strict=True):
        file = package.files[f_index]
        entry = file.entries[e_index]
        if student_id is None:
            unmatched.append(
                {"file": file.name, "kind": file.kind, "position": entry.position,
                 "reason": "no_student"}
            )  # fmt: skip
            continue
        students.add(student_id)
        for sheet, rows in entry.sheets.items():
            for serial, fields in enumerate(rows, start=1):
                session.add(
                    ReceiptRecord(
                        import_id=receipt.id,
                        school_code=school_code,
                        academic_year=academic_year,
                        semester=semester,
                        kind=file.kind,
                        roster_code=file.roster_code.value if file.roster_code else None,
                        student_id=student_id,
                        sheet=sheet[:100],
                        serial=serial,
                        fields=fields,
                    )
                )
                records += 1
    unmatched.sort(key=lambda u: (str(u["file"]), int(str(u["position"]))))
    receipt.unmatched = unmatched
    receipt.counts = {
        "entries": sum(len(f.entries) for f in package.files),
        "students": len(students),
        "records": records,
        "unmatched": len(unmatched),
    }
    session.add(receipt)
    try:
        await session.flush()
    except IntegrityError:  # the same package imported at the same moment by someone else
        raise Conflict(
            "此收訖明細正在由他人匯入，請稍後重新整理", code="receipt_importing"
        ) from None
    record_change(
        session,
        school_code=school_code,
        actor_id=grant.principal.person_id,
        entity="receipt_import",
        entity_id=receipt.id,
        event=ReceiptImported(
            import_id=receipt.id,
            academic_year=academic_year,
            semester=semester,
            roster_kinds=package.kinds,
            content_hash=package.content_hash,
            records=records,
            students=len(students),
            unmatched=len(unmatched),
        ),
        after={"filename": receipt.filename, "counts": receipt.counts},
    )
    return receipt, False


async def set_window(
    session: AsyncSession,
    *,
    grant: Grant,
    academic_year: int,
    semester: int,
    payload: WindowRequest,
) -> ReceiptWindow:
    """Set the term's confirmation window (at least 3 days)."""
    if payload.closes_at - payload.opens_at < MIN_WINDOW:
        raise WindowTooShort
    window = await repository.get_window(
        session, school_code=grant.school_code, academic_year=academic_year, semester=semester
    )
    before = None
    if window is None:
        window = ReceiptWindow(
            school_code=grant.school_code,
            academic_year=academic_year,
            semester=semester,
            opens_at=payload.opens_at,
            closes_at=payload.closes_at,
        )
    else:
        before = {
            "opens_at": window.opens_at.isoformat(),
            "closes_at": window.closes_at.isoformat(),
        }
        window.opens_at, window.closes_at = payload.opens_at, payload.closes_at
    window.set_by, window.set_at = grant.principal.person_id, utcnow()
    session.add(window)
    record_change(
        session,
        school_code=grant.school_code,
        actor_id=grant.principal.person_id,
        entity="receipt_window",
        entity_id=f"{academic_year}-{semester}",
        action="receipt_window.set",
        before=before,
        after={
            "opens_at": payload.opens_at.isoformat(),
            "closes_at": payload.closes_at.isoformat(),
        },
    )
    return window


async def open_window(
    session: AsyncSession, *, school_code: str, academic_year: int, semester: int
) -> ReceiptWindow:
    """The term's window when it is open now, else 409 naming it."""
    window = await repository.get_window(
        session, school_code=school_code, academic_year=academic_year, semester=semester
    )
    term = term_text(academic_year, semester)
    if window is None:
        raise WindowClosed(f"{term}的收訖明細確認期間尚未設定", code="receipt_window_not_set")
    now = utcnow()
    if not window.opens_at <= now < window.closes_at:
        raise WindowClosed(
            f"{term}的收訖明細確認期間為 {roc_moment(window.opens_at)} 至 "
            f"{roc_moment(window.closes_at)}，目前不在確認期間內",
            code="receipt_window_closed",
            detail={
                "opens_at": window.opens_at.isoformat(),
                "closes_at": window.closes_at.isoformat(),
            },
        )
    return window


async def confirm(
    session: AsyncSession,
    *,
    school_code: str,
    student_id: uuid.UUID,
    academic_year: int,
    semester: int,
) -> ReceiptConfirmation:
    """The student's 「資料正確」 (again: the first one stands)."""
    await open_window(
        session, school_code=school_code, academic_year=academic_year, semester=semester
    )
    records = await repository.current_records(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        student_ids=[student_id],
    )
    if not records:
        raise NotFound(
            f"{term_text(academic_year, semester)}沒有您的收訖明細", code="receipt_not_found"
        )
    existing = await repository.get_confirmation(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        student_id=student_id,
    )
    if existing is not None:
        return existing
    confirmation = ReceiptConfirmation(
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        student_id=student_id,
    )
    session.add(confirmation)
    record_change(
        session,
        school_code=school_code,
        actor_id=student_id,
        entity="receipt_confirmation",
        entity_id=student_id,
        event=ReceiptConfirmed(
            student_id=student_id, academic_year=academic_year, semester=semester
        ),
    )
    return confirmation


async def report(
    session: AsyncSession,
    *,
    school_code: str,
    student_id: uuid.UUID,
    academic_year: int,
    semester: int,
    record_id: uuid.UUID,
    error_code: ErrorCode,
    comment: str,
) -> ReceiptReport:
    """The student reports a problem with one of their current records."""
    await open_window(
        session, school_code=school_code, academic_year=academic_year, semester=semester
    )
    current = await repository.current_records(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        student_ids=[student_id],
    )
    record = next((r for r in current if r.id == record_id), None)
    if record is None:
        raise NotFound("找不到此筆收訖明細紀錄", code="receipt_record_not_found")
    mine = await repository.term_reports(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        student_ids=[student_id],
        status=ReportStatus.OPEN,
    )
    if any(r.record_id == record_id for r in mine):
        raise Conflict("您已回報過此筆紀錄，請等候學校回覆", code="receipt_report_exists")
    me = await get_person(session, school_code, student_id)
    row = ReceiptReport(
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        student_id=student_id,
        class_code=me.class_code if me else None,
        record_id=record.id,
        kind=record.kind,
        roster_code=record.roster_code,
        sheet=record.sheet,
        error_code=error_code.value,
        comment=comment.strip(),
        status=ReportStatus.OPEN,
    )
    session.add(row)
    record_change(
        session,
        school_code=school_code,
        actor_id=student_id,
        entity="receipt_report",
        entity_id=row.id,
        event=ReceiptReported(
            report_id=row.id,
            student_id=student_id,
            record_id=record.id,
            academic_year=academic_year,
            semester=semester,
            roster_code=record.roster_code,
            error_code=error_code.value,
        ),
        after={"record_id": str(record.id), "error_code": error_code.value},
    )
    return row


def _report_roster_allowed(grant: Grant, roster_code: str | None) -> bool:
    return grant.school_wide or (roster_code is not None and roster_code in rosters_of(grant))


async def answer(
    session: AsyncSession,
    *,
    grant: Grant,
    report_id: uuid.UUID,
    answer: ReportAnswer,
    text: str,
) -> ReceiptReport:
    """The roster's submitter answers a report (again: the newer answer replaces it)."""
    row = await repository.get_report(session, report_id)
    if (
        row is None
        or row.school_code != grant.school_code
        or not _report_roster_allowed(grant, row.roster_code)
    ):
        raise NotFound("找不到此回報", code="receipt_report_not_found")
    before = {"answer": row.answer.value if row.answer else None, "text": row.answer_text}
    row.answer, row.answer_text = answer, text.strip()
    row.answered_by, row.answered_at = grant.principal.person_id, utcnow()
    row.status = ReportStatus.ANSWERED
    session.add(row)
    record_change(
        session,
        school_code=grant.school_code,
        actor_id=grant.principal.person_id,
        entity="receipt_report",
        entity_id=row.id,
        event=ReceiptAnswered(report_id=row.id, student_id=row.student_id, answer=answer.value),
        before=before,
        after={"answer": answer.value, "text": row.answer_text},
    )
    return row


def report_public(
    row: ReceiptReport,
    *,
    window: ReceiptWindow | None,
    person: KnownPerson | None = None,
    record: ReceiptRecord | None = None,
    now: datetime | None = None,
) -> ReportPublic:
    """A report as the API answers it."""
    moment = now or utcnow()
    return ReportPublic(
        id=row.id,
        academic_year=row.academic_year,
        semester=row.semester,
        student_id=row.student_id,
        student_no=person.local_no if person else None,
        student_name=person.name if person else None,
        class_code=row.class_code,
        record_id=row.record_id,
        kind=row.kind,
        roster_code=row.roster_code,
        sheet=row.sheet,
        received=record.fields if record else None,
        error_code=row.error_code,
        error_title=ERROR_CODE_TITLES[ErrorCode(row.error_code)],
        comment=row.comment,
        status=row.status,
        created_at=row.created_at,
        answer=row.answer,
        answer_title=ANSWER_TITLES[row.answer] if row.answer else None,
        answer_text=row.answer_text,
        answered_at=row.answered_at,
        overdue=row.status is ReportStatus.OPEN
        and window is not None
        and window.closes_at <= moment,
    )


async def staff_reports(
    session: AsyncSession,
    *,
    grant: Grant,
    academic_year: int,
    semester: int,
    class_code: str | None,
    roster_code: str | None,
    status: ReportStatus | None,
    overdue_only: bool,
) -> tuple[list[ReportPublic], ReceiptWindow | None]:
    """The reports on the 名冊 the caller submits, filtered; overdue: open after the window."""
    allowed: list[str | None] = list(rosters_of(grant))
    if grant.school_wide:
        allowed.append(None)
    if roster_code is not None:
        allowed = [c for c in allowed if (c or "") == roster_code]
    rows = await repository.term_reports(
        session,
        school_code=grant.school_code,
        academic_year=academic_year,
        semester=semester,
        roster_codes=allowed,
        class_code=class_code,
        status=ReportStatus.OPEN if overdue_only else status,
    )
    window = await repository.get_window(
        session, school_code=grant.school_code, academic_year=academic_year, semester=semester
    )
    people = await people_by_ids(session, grant.school_code, [r.student_id for r in rows])
    records = await repository.records_by_ids(session, [r.record_id for r in rows])
    items = [
        report_public(
            r, window=window, person=people.get(r.student_id), record=records.get(r.record_id)
        )
        for r in rows
    ]
    if overdue_only:
        items = [i for i in items if i.overdue]
    return items, window


@dataclass(frozen=True)
class StudentRoster:
    """One 名冊 of a student's receipt, compared with the submission it came from."""

    kind: str
    roster_code: str | None
    submission_id: uuid.UUID | None
    sheets: list[ComparedSheet]


async def student_rosters(
    session: AsyncSession,
    *,
    school_code: str,
    student_id: uuid.UUID,
    academic_year: int,
    semester: int,
) -> list[StudentRoster]:
    """The student's current receipt records by 名冊, each beside what was submitted."""
    records = await repository.current_records(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        student_ids=[student_id],
    )
    by_kind: dict[str, list[ReceiptRecord]] = defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)
    rosters: list[StudentRoster] = []
    for kind in KIND_ROSTERS:
        received = by_kind.get(kind)
        if not received:
            continue
        code = KIND_ROSTERS[kind]
        submission = None
        if code is not None:
            submission = await repository.latest_completed_submission(
                session,
                school_code=school_code,
                roster_code=code.value,
                academic_year=academic_year,
                semester=cover_semester(code, semester) if semester else semester,
            )
        submitted = (
            await repository.submitted_rows(
                session, submission_id=submission.id, student_id=student_id
            )
            if submission is not None
            else []
        )
        sheets = compare_roster(
            [(r.id, r.sheet, r.fields) for r in received], [(s.sheet, s.fields) for s in submitted]
        )
        rosters.append(
            StudentRoster(
                kind, code.value if code else None, submission.id if submission else None, sheets
            )
        )
    return rosters


def roster_public(roster: StudentRoster) -> RosterReceipt:
    """A compared 名冊 as the API answers it; without a submission nothing is marked."""
    compared = roster.submission_id is not None
    return RosterReceipt(
        kind=roster.kind,
        roster_code=roster.roster_code,
        submission_id=roster.submission_id,
        sheets=[
            ComparedSheetPublic(
                sheet=sheet.sheet,
                records=[
                    ComparedRecordPublic(
                        record_id=r.record_id,
                        sheet=r.sheet,
                        status=r.status if compared else "not_compared",
                        received=r.received,
                        submitted=r.submitted,
                        differences=r.differences,
                    )
                    for r in sheet.records
                ],
                missing=sheet.missing,
            )
            for sheet in roster.sheets
        ],
    )


def student_status(confirmed: bool, reported: bool) -> str:
    """confirmed | reported | silent (a report outweighs a confirmation)."""
    if reported:
        return "reported"
    return "confirmed" if confirmed else "silent"


async def my_receipt(
    session: AsyncSession,
    *,
    school_code: str,
    student_id: uuid.UUID,
    academic_year: int,
    semester: int,
) -> MyReceipt:
    """The student's receipt of the term: compared records, window, confirmation, reports."""
    rosters = await student_rosters(
        session,
        school_code=school_code,
        student_id=student_id,
        academic_year=academic_year,
        semester=semester,
    )
    window = await repository.get_window(
        session, school_code=school_code, academic_year=academic_year, semester=semester
    )
    confirmation = await repository.get_confirmation(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        student_id=student_id,
    )
    reports = await repository.term_reports(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        student_ids=[student_id],
    )
    return MyReceipt(
        academic_year=academic_year,
        semester=semester,
        window=window_public(window) if window else None,
        confirmed_at=confirmation.confirmed_at if confirmation else None,
        status=student_status(confirmation is not None, bool(reports)),
        rosters=[roster_public(r) for r in rosters],
        reports=[report_public(r, window=window) for r in reports],
    )


async def class_statuses(
    session: AsyncSession,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    class_codes: list[str] | None,
) -> list[ClassStatus]:
    """Per class: enrolled students who confirmed, reported, or said nothing."""
    students = await repository.enrolled_students(
        session, school_code=school_code, class_codes=class_codes
    )
    confirmations = await repository.term_confirmations(
        session, school_code=school_code, academic_year=academic_year, semester=semester
    )
    reported = {
        r.student_id
        for r in await repository.term_reports(
            session, school_code=school_code, academic_year=academic_year, semester=semester
        )
    }
    counts: dict[str, dict[str, int]] = {}
    for student in students:
        bucket = counts.setdefault(
            student.class_code or "", {"confirmed": 0, "reported": 0, "silent": 0}
        )
        bucket[student_status(student.id in confirmations, student.id in reported)] += 1
    return [
        ClassStatus(class_code=code, students=sum(c.values()), **c)
        for code, c in sorted(counts.items())
    ]
