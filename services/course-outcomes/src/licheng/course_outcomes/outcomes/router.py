"""Outcomes over HTTP: the student's own work, the teacher's certification, course staff tools."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile, status
from pydantic import BaseModel

from licheng.contracts.permissions import Capability, Scope
from licheng.course_outcomes.access import COURSE_STAFF_SCOPES, require_course_staff
from licheng.course_outcomes.locks import service as locks
from licheng.course_outcomes.models import FileSlot, Outcome, OutcomeStatus
from licheng.course_outcomes.outcomes import reassign, repository, selection, service
from licheng.course_outcomes.outcomes.schemas import (
    Decision,
    OutcomeCreate,
    OutcomePublic,
    OutcomeUpdate,
    SelectionUpdate,
)
from licheng.kit.db import SessionDep
from licheng.kit.errors import Forbidden, NotFound
from licheng.kit.permissions import Grant, require
from licheng.kit.settings import ServiceSettings
from licheng.kit.storage import ObjectStorage
from licheng.kit.versioning import ExpectedVersion

router = APIRouter(prefix="/api/course-outcomes/v1/schools/{school_code}", tags=["outcomes"])
Year = Annotated[int, Query(ge=100, le=200, description="學年度")]
Semester = Annotated[int, Query(ge=1, le=2, description="學期")]
CHUNK = 64 * 1024


def _student(grant: Grant) -> uuid.UUID:
    if Scope.OWN not in grant.scopes or grant.principal.person_id is None:
        raise Forbidden("此功能僅限學生本人使用", code="student_only")
    return grant.principal.person_id


async def _public(session: SessionDep, outcome_ids: list[uuid.UUID]) -> list[OutcomePublic]:
    outcomes = await repository.outcomes_by_ids(session, outcome_ids)
    files = await repository.files_of(session, outcome_ids)
    sections = await repository.sections_by_ids(session, {o.section_id for o in outcomes})
    by_id = {o.id: o for o in outcomes}
    return [
        OutcomePublic.of(by_id[i], files[i], sections.get(by_id[i].section_id))
        for i in outcome_ids
        if i in by_id
    ]


class CoursePublic(BaseModel):
    enrolment_id: uuid.UUID
    section_id: uuid.UUID
    course_code: str
    subject_name: str
    credits: int
    kind: str
    certifier_id: uuid.UUID | None


@router.get("/me/courses", response_model=list[CoursePublic], summary="我的修課紀錄")
async def my_courses(
    school_code: str,
    academic_year: Year,
    semester: Semester,
    session: SessionDep,
    grant: Grant = require(Capability.PORTFOLIO_WRITE),
) -> list[CoursePublic]:
    """The student's courses of a term, to attach outcomes to."""
    student = _student(grant)
    rows = await repository.student_courses(session, school_code, student, academic_year, semester)
    return [
        CoursePublic(
            enrolment_id=e.id,
            section_id=s.id,
            course_code=s.course_code,
            subject_name=s.subject_name,
            credits=s.credits,
            kind=e.kind,
            certifier_id=s.certifier_id,
        )
        for e, s in rows
    ]


@router.get("/me/outcomes", response_model=list[OutcomePublic], summary="我的課程學習成果")
async def my_outcomes(
    school_code: str,
    academic_year: Year,
    semester: Semester,
    session: SessionDep,
    grant: Grant = require(Capability.PORTFOLIO_WRITE),
) -> list[OutcomePublic]:
    """The student's outcomes of a term."""
    student = _student(grant)
    outcomes = await repository.list_for_student(
        session, school_code, student, academic_year, semester
    )
    return await _public(session, [o.id for o in outcomes])


@router.post(
    "/outcomes",
    status_code=status.HTTP_201_CREATED,
    response_model=OutcomePublic,
    summary="新增課程學習成果",
)
async def create_outcome(
    school_code: str,
    payload: OutcomeCreate,
    session: SessionDep,
    grant: Grant = require(Capability.PORTFOLIO_WRITE),
) -> OutcomePublic:
    """A draft for one of the student's own courses."""
    outcome = await service.create(
        session, school_code=school_code, student_id=_student(grant), payload=payload
    )
    return (await _public(session, [outcome.id]))[0]


@router.get("/outcomes/{outcome_id}", response_model=OutcomePublic, summary="課程學習成果")
async def read_outcome(
    school_code: str,
    outcome_id: uuid.UUID,
    session: SessionDep,
    grant: Grant = require(Capability.PORTFOLIO_READ),
) -> OutcomePublic:
    """The student's own, or any for course staff (teachers read via the certification queue)."""
    outcome = _may_read(grant, await repository.get_outcome(session, school_code, outcome_id))
    return (await _public(session, [outcome.id]))[0]


@router.patch("/outcomes/{outcome_id}", response_model=OutcomePublic, summary="修改課程學習成果")
async def update_outcome(
    school_code: str,
    outcome_id: uuid.UUID,
    payload: OutcomeUpdate,
    session: SessionDep,
    expected: ExpectedVersion,
    grant: Grant = require(Capability.PORTFOLIO_WRITE),
) -> OutcomePublic:
    """Edit a draft or a failed outcome."""
    student = _student(grant)
    outcome = await service.own_outcome(session, school_code, outcome_id, student)
    await service.update(
        session,
        outcome=outcome,
        payload=payload,
        expected_version=expected,
        actor_id=student,
    )
    return (await _public(session, [outcome.id]))[0]


@router.delete(
    "/outcomes/{outcome_id}", status_code=status.HTTP_204_NO_CONTENT, summary="刪除課程學習成果"
)
async def delete_outcome(
    school_code: str,
    outcome_id: uuid.UUID,
    session: SessionDep,
    grant: Grant = require(Capability.PORTFOLIO_WRITE),
) -> None:
    """Delete a draft or a failed outcome."""
    student = _student(grant)
    outcome = await service.own_outcome(session, school_code, outcome_id, student)
    await service.delete(session, outcome=outcome, actor_id=student)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


@router.put(
    "/outcomes/{outcome_id}/files/{slot}",
    response_model=OutcomePublic,
    summary="上傳成果文件或影音檔",
)
async def upload_file(
    school_code: str,
    outcome_id: uuid.UUID,
    slot: FileSlot,
    request: Request,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    grant: Grant = require(Capability.PORTFOLIO_WRITE),
) -> OutcomePublic:
    """document: pdf/jpg/png; media: mp3/mp4 — checked by content, limited by the parameters."""
    student = _student(grant)
    outcome = await service.own_outcome(session, school_code, outcome_id, student)
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    await service.attach_file(
        session,
        storage=storage,
        bucket=settings.uploads_bucket,
        outcome=outcome,
        slot=slot,
        filename=file.filename or "upload",
        chunks=_chunks(file),
        actor_id=student,
    )
    return (await _public(session, [outcome.id]))[0]


class DownloadLink(BaseModel):
    url: str
    expires_in: int


async def _download_link(
    request: Request, session: SessionDep, outcome: Outcome, slot: FileSlot
) -> DownloadLink:
    stored = await repository.file_in_slot(session, outcome.id, slot)
    if stored is None:
        raise NotFound("此成果沒有這個檔案", code="file_not_found")
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    url = await storage.presigned_get(bucket=settings.uploads_bucket, key=stored.object_key)
    return DownloadLink(url=url, expires_in=300)


@router.get(
    "/outcomes/{outcome_id}/files/{slot}", response_model=DownloadLink, summary="成果檔案下載連結"
)
async def file_link(
    school_code: str,
    outcome_id: uuid.UUID,
    slot: FileSlot,
    request: Request,
    session: SessionDep,
    grant: Grant = require(Capability.PORTFOLIO_READ),
) -> DownloadLink:
    """A five-minute download link for the student, their certifier or course staff."""
    outcome = _may_read(grant, await repository.get_outcome(session, school_code, outcome_id))
    return await _download_link(request, session, outcome, slot)


def _may_read(grant: Grant, outcome: Outcome | None) -> Outcome:
    """The outcome if the caller is its student or course staff; 404 otherwise, never data."""
    if outcome is not None:
        own = Scope.OWN in grant.scopes and outcome.student_id == grant.principal.person_id
        if own or grant.scopes & COURSE_STAFF_SCOPES:
            return outcome
    raise NotFound("找不到此課程學習成果", code="outcome_not_found")


@router.post("/outcomes/{outcome_id}/submission", response_model=OutcomePublic, summary="送審")
async def submit_outcome(
    school_code: str,
    outcome_id: uuid.UUID,
    session: SessionDep,
    grant: Grant = require(Capability.PORTFOLIO_WRITE),
) -> OutcomePublic:
    """Send the outcome to its certifying teacher."""
    student = _student(grant)
    outcome = await service.own_outcome(session, school_code, outcome_id, student)
    await service.submit(session, outcome=outcome, actor_id=student)
    return (await _public(session, [outcome.id]))[0]


@router.get("/certifications", response_model=list[OutcomePublic], summary="待認證的課程學習成果")
async def certification_queue(
    school_code: str,
    session: SessionDep,
    state: Annotated[OutcomeStatus, Query(alias="status")] = OutcomeStatus.SUBMITTED,
    grant: Grant = require(Capability.OUTCOMES_CERTIFY),
) -> list[OutcomePublic]:
    """Outcomes whose certifying teacher is the caller (own courses plus reassignments)."""
    me = grant.principal.person_id
    if me is None:
        raise Forbidden("此功能僅限授課教師使用", code="teacher_only")
    outcomes = await repository.pending_for_certifier(session, school_code, me, [state])
    return await _public(session, [o.id for o in outcomes])


@router.get(
    "/certifications/{outcome_id}/files/{slot}",
    response_model=DownloadLink,
    summary="認證教師下載成果檔案",
)
async def certifier_file_link(
    school_code: str,
    outcome_id: uuid.UUID,
    slot: FileSlot,
    request: Request,
    session: SessionDep,
    grant: Grant = require(Capability.OUTCOMES_CERTIFY),
) -> DownloadLink:
    """The certifying teacher opens the files they must read (seed 4-7 item 5)."""
    outcome = await repository.get_outcome(session, school_code, outcome_id)
    if outcome is None or outcome.certifier_id != grant.principal.person_id:
        raise NotFound("找不到此課程學習成果", code="outcome_not_found")
    return await _download_link(request, session, outcome, slot)


async def _for_teacher(session: SessionDep, school_code: str, outcome_id: uuid.UUID) -> Outcome:
    outcome = await repository.get_outcome(session, school_code, outcome_id)
    if outcome is None:
        raise NotFound("找不到此課程學習成果", code="outcome_not_found")
    return outcome


@router.post(
    "/outcomes/{outcome_id}/certification",
    response_model=OutcomePublic,
    summary="認證（成功或失敗）",
)
async def certify(
    school_code: str,
    outcome_id: uuid.UUID,
    decision: Decision,
    session: SessionDep,
    grant: Grant = require(Capability.OUTCOMES_CERTIFY),
) -> OutcomePublic:
    """認證成功, or 認證失敗 with reason code 01–04 and an explanation."""
    outcome = await _for_teacher(session, school_code, outcome_id)
    await service.decide(
        session, outcome=outcome, teacher_id=grant.principal.person_id, decision=decision
    )
    return (await _public(session, [outcome.id]))[0]


@router.delete(
    "/outcomes/{outcome_id}/certification", response_model=OutcomePublic, summary="取消認證"
)
async def revoke_certification(
    school_code: str,
    outcome_id: uuid.UUID,
    session: SessionDep,
    grant: Grant = require(Capability.OUTCOMES_CERTIFY),
) -> OutcomePublic:
    """The student may edit again and must resubmit."""
    outcome = await _for_teacher(session, school_code, outcome_id)
    await service.revoke(session, outcome=outcome, teacher_id=grant.principal.person_id)
    return (await _public(session, [outcome.id]))[0]


@router.put("/me/selections", response_model=list[OutcomePublic], summary="勾選提交的課程學習成果")
async def select_outcomes(
    school_code: str,
    payload: SelectionUpdate,
    session: SessionDep,
    grant: Grant = require(Capability.PORTFOLIO_WRITE),
) -> list[OutcomePublic]:
    """Replace the term's selection; at most the parameters' cap, certified outcomes only."""
    chosen = await selection.set_selection(
        session, school_code=school_code, student_id=_student(grant), payload=payload
    )
    return await _public(session, [o.id for o in chosen])


class CertifierChange(BaseModel):
    teacher_id: uuid.UUID


@router.put(
    "/outcomes/{outcome_id}/certifier",
    response_model=OutcomePublic,
    summary="更換認證教師（單一成果）",
)
async def reassign_outcome(
    school_code: str,
    outcome_id: uuid.UUID,
    change: CertifierChange,
    session: SessionDep,
    grant: Grant = require(Capability.ROSTERS_SUBMIT),
) -> OutcomePublic:
    """課程學習提交者 or admin; audited."""
    require_course_staff(grant)
    outcome = await _for_teacher(session, school_code, outcome_id)
    await reassign.reassign_outcome(
        session, outcome=outcome, teacher_id=change.teacher_id, actor_id=grant.principal.person_id
    )
    return (await _public(session, [outcome.id]))[0]


@router.put("/sections/{section_id}/certifier", summary="更換認證教師（整個課程）")
async def reassign_section(
    school_code: str,
    section_id: uuid.UUID,
    change: CertifierChange,
    session: SessionDep,
    grant: Grant = require(Capability.ROSTERS_SUBMIT),
) -> dict[str, int]:
    """Move a whole section and its undecided outcomes; audited."""
    require_course_staff(grant)
    moved = await reassign.reassign_section(
        session,
        school_code=school_code,
        section_id=section_id,
        teacher_id=change.teacher_id,
        actor_id=grant.principal.person_id,
    )
    return {"outcomes_moved": moved}


@router.post(
    "/terms/{academic_year}/{semester}/reopen",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="重新開放已提交鎖定的學期",
)
async def reopen_term(
    school_code: str,
    academic_year: int,
    semester: int,
    session: SessionDep,
    grant: Grant = require(Capability.PERMISSIONS_MANAGE),
) -> None:
    """The admin reopens a submitted term for corrections; audited."""
    await locks.reopen_term(
        session,
        school_code=school_code,
        academic_year=academic_year,
        semester=semester,
        actor_id=grant.principal.person_id,
    )
