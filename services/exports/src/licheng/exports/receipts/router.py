"""The 收訖明細 API (docs/receipts.md).

Staff (the admin, or the submitter of the 名冊 concerned):
- `POST …/receipts/imports` (multipart: file, password, academic_year, semester) imports a
  package, or answers the earlier import of the same package (`already_imported`);
- `GET …/receipts/terms/{y}/{s}/imports` lists the term's imports with their unmatched entries;
- `PUT …/receipts/terms/{y}/{s}/window` sets the students' confirmation window (≥ 3 days);
- `GET …/receipts/terms/{y}/{s}/reports` lists reports (class, 名冊, status, overdue);
- `POST …/receipts/reports/{id}/answer` answers one.
The student themself: `GET …/me/receipts/terms/{y}/{s}` (records beside what was submitted),
`POST …/confirmation`, `POST …/reports`, `GET …/confirmation.pdf`.
導師 (own class) and admin: per student and per class 歷程確認單 PDF, status counts (JSON, xlsx).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile, status
from fastapi.responses import Response, StreamingResponse

from licheng.contracts.permissions import Capability
from licheng.exports.models import ReportStatus
from licheng.exports.receipts import pdf, repository, service
from licheng.exports.receipts.matching import StudentMatcher, student_matcher
from licheng.exports.receipts.schemas import (
    AnswerRequest,
    ConfirmationPublic,
    ImportList,
    ImportPublic,
    MyReceipt,
    ReportList,
    ReportPublic,
    ReportRequest,
    StatusList,
    WindowPublic,
    WindowRequest,
)
from licheng.exports.submissions.rosters import Submitter
from licheng.kit.db import SessionDep
from licheng.kit.errors import Forbidden, NotFound, error_responses
from licheng.kit.permissions import Caller, Grant, grant_of, student_caller
from licheng.kit.roster import KnownPerson, get_person, visible_classes
from licheng.kit.spreadsheet import (
    XLSX_ANSWER,
    Download,
    TemporaryFileResponse,
    content_disposition,
    xlsx_download,
)
from licheng.kit.timeutil import utcnow

router = APIRouter(
    prefix="/api/exports/v1/schools/{school_code}",
    tags=["receipts"],
    responses=error_responses(),
)
Student = Annotated[Caller, Depends(student_caller)]
Reader = Annotated[Grant, Depends(grant_of(Capability.PORTFOLIO_READ))]
Matcher = Annotated[StudentMatcher, Depends(student_matcher)]
Year = Annotated[int, Path(ge=100, le=200)]
Semester = Annotated[int, Path(ge=0, le=2)]
PDF = "application/pdf"
PDF_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {PDF: {}}, "description": "歷程確認單 PDF"}
}
STATUS_HEADINGS = ("班級", "學生數", "已確認", "已回報", "未回應")


@router.post(
    "/receipts/imports",
    response_model=ImportPublic,
    status_code=status.HTTP_201_CREATED,
    summary="匯入收訖明細",
    responses={200: {"model": ImportPublic, "description": "同一份收訖明細已匯入過：未變更"}},
)
async def import_receipts(
    grant: Submitter,
    session: SessionDep,
    matcher: Matcher,
    response: Response,
    file: Annotated[UploadFile, File(description="國教署寄送的收訖明細 ZIP（有密碼）")],
    password: Annotated[str, Form(min_length=1, max_length=200)],
    academic_year: Annotated[int, Form(ge=100, le=200)],
    semester: Annotated[int, Form(ge=0, le=2)],
) -> ImportPublic:
    """Verify (password, SHA.txt, 名冊 words, JSON), match students through identity, keep."""
    data = await file.read(service.MAX_PACKAGE_BYTES + 1)
    row, already = await service.import_package(
        session,
        grant=grant,
        matcher=matcher,
        data=data,
        filename=file.filename or "receipt.zip",
        password=password,
        academic_year=academic_year,
        semester=semester,
    )
    if already:
        response.status_code = status.HTTP_200_OK
    return service.import_public(row, already=already)


@router.get(
    "/receipts/terms/{academic_year}/{semester}/imports",
    response_model=ImportList,
    summary="收訖明細匯入紀錄",
)
async def list_imports(
    academic_year: Year, semester: Semester, grant: Submitter, session: SessionDep
) -> ImportList:
    """The term's imports, with the entries no student matched (file and position only)."""
    rows = await repository.term_imports(
        session, school_code=grant.school_code, academic_year=academic_year, semester=semester
    )
    return ImportList(items=[service.import_public(r) for r in rows])


@router.put(
    "/receipts/terms/{academic_year}/{semester}/window",
    response_model=WindowPublic,
    summary="設定學生確認期間",
)
async def set_window(
    academic_year: Year,
    semester: Semester,
    payload: WindowRequest,
    grant: Submitter,
    session: SessionDep,
) -> WindowPublic:
    """Set when students may confirm or report (at least 3 days)."""
    window = await service.set_window(
        session, grant=grant, academic_year=academic_year, semester=semester, payload=payload
    )
    return service.window_public(window)


@router.get(
    "/receipts/terms/{academic_year}/{semester}/reports",
    response_model=ReportList,
    summary="學生回報列表",
)
async def list_reports(
    academic_year: Year,
    semester: Semester,
    grant: Submitter,
    session: SessionDep,
    class_code: str | None = Query(default=None, max_length=20),
    roster_code: str | None = Query(default=None, pattern=r"^(24|25|26)?$"),
    report_status: ReportStatus | None = Query(default=None, alias="status"),
    overdue: bool = Query(default=False, description="only reports open after the window"),
) -> ReportList:
    """Reports on the 名冊 the caller submits (修課紀錄: the admin)."""
    items, window = await service.staff_reports(
        session,
        grant=grant,
        academic_year=academic_year,
        semester=semester,
        class_code=class_code,
        roster_code=roster_code or None,
        status=report_status,
        overdue_only=overdue,
    )
    return ReportList(items=items, window=service.window_public(window) if window else None)


@router.post(
    "/receipts/reports/{report_id}/answer", response_model=ReportPublic, summary="回覆學生回報"
)
async def answer_report(
    report_id: uuid.UUID, payload: AnswerRequest, grant: Submitter, session: SessionDep
) -> ReportPublic:
    """Answer a report: correct as received, or will fix and re-submit."""
    row = await service.answer(
        session, grant=grant, report_id=report_id, answer=payload.answer, text=payload.text
    )
    window = await repository.get_window(
        session,
        school_code=grant.school_code,
        academic_year=row.academic_year,
        semester=row.semester,
    )
    return service.report_public(row, window=window)


@router.get(
    "/me/receipts/terms/{academic_year}/{semester}",
    response_model=MyReceipt,
    summary="我的收訖明細",
)
async def my_receipt(
    academic_year: Year, semester: Semester, me: Student, session: SessionDep
) -> MyReceipt:
    """What the central database received for me, beside what the school submitted."""
    return await service.my_receipt(
        session,
        school_code=me.school_code,
        student_id=me.person_id,
        academic_year=academic_year,
        semester=semester,
    )


@router.post(
    "/me/receipts/terms/{academic_year}/{semester}/confirmation",
    response_model=ConfirmationPublic,
    summary="確認收訖明細正確",
)
async def confirm(
    academic_year: Year, semester: Semester, me: Student, session: SessionDep
) -> ConfirmationPublic:
    """Confirm my receipt is correct, inside the window (409 outside it)."""
    row = await service.confirm(
        session,
        school_code=me.school_code,
        student_id=me.person_id,
        academic_year=academic_year,
        semester=semester,
    )
    return ConfirmationPublic(
        academic_year=row.academic_year, semester=row.semester, confirmed_at=row.confirmed_at
    )


@router.post(
    "/me/receipts/terms/{academic_year}/{semester}/reports",
    response_model=ReportPublic,
    status_code=status.HTTP_201_CREATED,
    summary="回報收訖明細問題",
)
async def report(
    academic_year: Year,
    semester: Semester,
    payload: ReportRequest,
    me: Student,
    session: SessionDep,
) -> ReportPublic:
    """Report a problem with one record, with an error code and a comment (409 outside)."""
    row = await service.report(
        session,
        school_code=me.school_code,
        student_id=me.person_id,
        academic_year=academic_year,
        semester=semester,
        record_id=payload.record_id,
        error_code=payload.error_code,
        comment=payload.comment,
    )
    window = await repository.get_window(
        session, school_code=me.school_code, academic_year=academic_year, semester=semester
    )
    return service.report_public(row, window=window)


async def _pages(
    session: SessionDep,
    *,
    school_code: str,
    academic_year: int,
    semester: int,
    people: Sequence[KnownPerson],
) -> list[pdf.StudentPage]:
    now = utcnow()
    confirmations = await repository.term_confirmations(
        session, school_code=school_code, academic_year=academic_year, semester=semester
    )
    pages: list[pdf.StudentPage] = []
    for person in people:
        rosters = await service.student_rosters(
            session,
            school_code=school_code,
            student_id=person.id,
            academic_year=academic_year,
            semester=semester,
        )
        reports = await repository.term_reports(
            session,
            school_code=school_code,
            academic_year=academic_year,
            semester=semester,
            student_ids=[person.id],
        )
        confirmation = confirmations.get(person.id)
        pages.append(
            pdf.student_page(
                school_code=school_code,
                academic_year=academic_year,
                semester=semester,
                person=person,
                rosters=rosters,
                confirmed_at=confirmation.confirmed_at if confirmation else None,
                reports=reports,
                now=now,
            )
        )
    return pages


def _pdf_response(data: bytes, filename: str, fallback: str) -> Response:
    return Response(
        data,
        media_type=PDF,
        headers={
            "Content-Disposition": content_disposition(filename, fallback),
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/me/receipts/terms/{academic_year}/{semester}/confirmation.pdf",
    response_class=Response,
    responses=PDF_ANSWER,
    summary="我的歷程確認單",
)
async def my_confirmation_pdf(
    academic_year: Year, semester: Semester, me: Student, session: SessionDep
) -> Response:
    """My 歷程確認單 as PDF."""
    person = await get_person(session, me.school_code, me.person_id)
    if person is None:
        raise NotFound("尚未取得您的學生資料，請稍後再試", code="student_not_found")
    pages = await _pages(
        session,
        school_code=me.school_code,
        academic_year=academic_year,
        semester=semester,
        people=[person],
    )
    await session.close()
    data = await pdf.render_pdf(pages, title=person.local_no)
    return _pdf_response(
        data,
        f"歷程確認單_{academic_year}_{semester}_{person.local_no}.pdf",
        f"receipt_{academic_year}_{semester}_{person.local_no}.pdf",
    )


async def _class_allowed(session: SessionDep, grant: Grant, class_code: str) -> None:
    allowed = await visible_classes(
        session, grant, school_wide=grant.school_wide, class_code=class_code
    )
    if allowed is not None and class_code not in allowed:
        raise Forbidden("您只能列印自己班級的歷程確認單", code="class_not_allowed")


@router.get(
    "/receipts/terms/{academic_year}/{semester}/students/{student_id}/confirmation.pdf",
    response_class=Response,
    responses=PDF_ANSWER,
    summary="學生的歷程確認單",
)
async def student_confirmation_pdf(
    academic_year: Year,
    semester: Semester,
    student_id: uuid.UUID,
    grant: Reader,
    session: SessionDep,
) -> Response:
    """One student's 歷程確認單 (the 導師 of their class, or the admin)."""
    person = await get_person(session, grant.school_code, student_id)
    if person is None or person.class_code is None:
        raise NotFound("找不到此學生", code="student_not_found")
    await _class_allowed(session, grant, person.class_code)
    pages = await _pages(
        session,
        school_code=grant.school_code,
        academic_year=academic_year,
        semester=semester,
        people=[person],
    )
    await session.close()
    data = await pdf.render_pdf(pages, title=person.local_no)
    return _pdf_response(
        data,
        f"歷程確認單_{academic_year}_{semester}_{person.local_no}.pdf",
        f"receipt_{academic_year}_{semester}_{person.local_no}.pdf",
    )


@router.get(
    "/receipts/terms/{academic_year}/{semester}/classes/{class_code}/confirmation.pdf",
    response_class=Response,
    responses=PDF_ANSWER,
    summary="班級歷程確認單",
)
async def class_confirmation_pdf(
    academic_year: Year,
    semester: Semester,
    class_code: Annotated[str, Path(max_length=20)],
    grant: Reader,
    session: SessionDep,
) -> Response:
    """Every enrolled student's 歷程確認單 of a class, one page each (its 導師, the admin)."""
    await _class_allowed(session, grant, class_code)
    people = await repository.enrolled_students(
        session, school_code=grant.school_code, class_codes=[class_code]
    )
    if not people:
        raise NotFound("此班級沒有在籍學生", code="class_not_found")
    pages = await _pages(
        session,
        school_code=grant.school_code,
        academic_year=academic_year,
        semester=semester,
        people=people,
    )
    await session.close()
    data = await pdf.render_pdf(pages, title=class_code)
    return _pdf_response(
        data,
        f"歷程確認單_{academic_year}_{semester}_{class_code}.pdf",
        f"receipt_{academic_year}_{semester}_{class_code}.pdf",
    )


async def _statuses(
    session: SessionDep, grant: Grant, academic_year: int, semester: int, class_code: str | None
) -> StatusList:
    classes = await visible_classes(
        session, grant, school_wide=grant.school_wide, class_code=class_code
    )
    items = await service.class_statuses(
        session,
        school_code=grant.school_code,
        academic_year=academic_year,
        semester=semester,
        class_codes=classes,
    )
    return StatusList(academic_year=academic_year, semester=semester, items=items)


@router.get(
    "/receipts/terms/{academic_year}/{semester}/status",
    response_model=StatusList,
    summary="收訖明細確認狀況",
)
async def status_counts(
    academic_year: Year,
    semester: Semester,
    grant: Reader,
    session: SessionDep,
    class_code: str | None = Query(default=None, max_length=20),
) -> StatusList:
    """Per class: confirmed, reported, silent (a 導師 sees their own classes)."""
    return await _statuses(session, grant, academic_year, semester, class_code)


@router.get(
    "/receipts/terms/{academic_year}/{semester}/status.xlsx",
    response_class=StreamingResponse,
    responses=XLSX_ANSWER,
    summary="收訖明細確認狀況（Excel）",
)
async def status_workbook(
    academic_year: Year,
    semester: Semester,
    grant: Reader,
    session: SessionDep,
    class_code: str | None = Query(default=None, max_length=20),
) -> TemporaryFileResponse:
    """The status counts as a workbook."""
    result = await _statuses(session, grant, academic_year, semester, class_code)

    async def pages() -> AsyncIterator[Sequence[Sequence[Any]]]:
        yield [[i.class_code, i.students, i.confirmed, i.reported, i.silent] for i in result.items]

    return await xlsx_download(
        download=Download(
            filename=f"收訖明細確認狀況_{academic_year}_{semester}.xlsx",
            fallback=f"receipt_status_{academic_year}_{semester}.xlsx",
        ),
        title="收訖明細確認狀況",
        headings=STATUS_HEADINGS,
        pages=pages(),
        notes=[service.term_text(academic_year, semester)],
    )
