"""Certification over HTTP: the queue and files, 認證 / 取消認證 (one or a batch), 更換認證教師."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from licheng.course_outcomes.auth import Certifier, CourseStaff, certifies
from licheng.course_outcomes.certification import batch as batch_service
from licheng.course_outcomes.certification import reassign
from licheng.course_outcomes.certification.schemas import BatchDecision, BatchResult
from licheng.course_outcomes.models import FileSlot, Outcome, OutcomeStatus
from licheng.course_outcomes.outcomes import repository, service, views
from licheng.course_outcomes.outcomes.repository import OutcomeFilter, OutcomeSort
from licheng.course_outcomes.outcomes.schemas import (
    CertifierChange,
    Decision,
    DownloadLink,
    OutcomePublic,
)
from licheng.kit.db import SessionDep
from licheng.kit.errors import NotFound, error_responses
from licheng.kit.pagination import Page, Paging, page_of

# What a teacher's queue may show: outcomes sent for certification and their decisions.
QueueStatus = Literal["submitted", "certified", "failed"]

router = APIRouter(
    prefix="/api/course-outcomes/v1/schools/{school_code}",
    tags=["certification"],
    responses=error_responses(423),
)


async def _outcome(session: SessionDep, school_code: str, outcome_id: uuid.UUID) -> Outcome:
    outcome = await repository.get_outcome(session, school_code, outcome_id)
    if outcome is None:
        raise NotFound("找不到此課程學習成果", code="outcome_not_found")
    return outcome


@router.get("/certifications", response_model=Page[OutcomePublic], summary="待認證的課程學習成果")
async def certification_queue(
    session: SessionDep,
    me: Certifier,
    paging: Paging,
    state: Annotated[QueueStatus, Query(alias="status")] = "submitted",
    academic_year: Annotated[int | None, Query(ge=100, le=200, description="學年度")] = None,
    semester: Annotated[int | None, Query(ge=1, le=2, description="學期")] = None,
    class_code: Annotated[str | None, Query(max_length=20, description="班級")] = None,
    section_id: Annotated[uuid.UUID | None, Query(description="課程（開課）")] = None,
    course_code: Annotated[str | None, Query(max_length=23, description="課程代碼")] = None,
    certifier_id: Annotated[
        uuid.UUID | None, Query(description="只看某位教師的（代理人用）")
    ] = None,
    sort: OutcomeSort = OutcomeSort.SUBMITTED_AT,
    order: Literal["asc", "desc"] = "asc",
) -> Page[OutcomePublic]:
    """Outcomes sent to the caller (own courses, reassignments, and as 代理人 the queues of the
    teachers who named them); never a student's draft. Each shows the student's 學號, 姓名, 班級
    and 座號."""
    certifiers = me.acting_for
    if certifier_id is not None:
        certifiers = certifiers & {certifier_id}
    where = OutcomeFilter(
        academic_year=academic_year,
        semester=semester,
        statuses=[OutcomeStatus(state)],
        certifier_ids=certifiers,
        class_codes=[class_code] if class_code is not None else None,
        section_id=section_id,
        course_code=course_code,
    )
    outcomes, total = await repository.find_outcomes(
        session, me.school_code, where, paging, sort=sort, descending=order == "desc"
    )
    views_ = await views.public_views(session, me.school_code, [o.id for o in outcomes])
    return page_of(views_, total, paging)


@router.post(
    "/certifications/batch", response_model=BatchResult, summary="批次認證（多件成果同一決定）"
)
async def certify_many(batch: BatchDecision, session: SessionDep, me: Certifier) -> BatchResult:
    """One decision for listed outcomes, or for every submitted one of a class or course in the
    caller's queue; each result reported, one refusal never undoes the others."""
    return await batch_service.decide_many(
        session,
        school_code=me.school_code,
        teacher_id=me.person_id,
        acting_for=me.acting_for,
        batch=batch,
    )


@router.get(
    "/certifications/{outcome_id}/files/{slot}",
    response_model=DownloadLink,
    summary="認證教師下載成果檔案",
)
async def certifier_file_link(
    outcome_id: uuid.UUID, slot: FileSlot, request: Request, session: SessionDep, me: Certifier
) -> DownloadLink:
    """The certifying teacher opens the files they must read (seed 4-7 item 5)."""
    outcome = certifies(me, await repository.get_outcome(session, me.school_code, outcome_id))
    return await views.download_link(request, session, outcome, slot)


@router.post(
    "/outcomes/{outcome_id}/certification",
    response_model=OutcomePublic,
    summary="認證（成功或失敗）",
)
async def certify(
    outcome_id: uuid.UUID, decision: Decision, session: SessionDep, me: Certifier
) -> OutcomePublic:
    """認證成功, or 認證失敗 with reason code 01–04 and an explanation."""
    outcome = await _outcome(session, me.school_code, outcome_id)
    await service.decide(
        session,
        outcome=outcome,
        teacher_id=me.person_id,
        decision=decision,
        acting_for=me.acting_for,
    )
    return await views.public_view(session, outcome)


@router.delete(
    "/outcomes/{outcome_id}/certification", response_model=OutcomePublic, summary="取消認證"
)
async def revoke_certification(
    outcome_id: uuid.UUID, session: SessionDep, me: Certifier
) -> OutcomePublic:
    """The student may edit again and must resubmit."""
    outcome = await _outcome(session, me.school_code, outcome_id)
    await service.revoke(
        session, outcome=outcome, teacher_id=me.person_id, acting_for=me.acting_for
    )
    return await views.public_view(session, outcome)


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
    staff: CourseStaff,
) -> OutcomePublic:
    """課程學習提交者 or admin; audited."""
    outcome = await _outcome(session, school_code, outcome_id)
    await reassign.reassign_outcome(
        session, outcome=outcome, teacher_id=change.teacher_id, actor_id=staff.principal.person_id
    )
    return await views.public_view(session, outcome)


@router.put("/sections/{section_id}/certifier", summary="更換認證教師（整個課程）")
async def reassign_section(
    school_code: str,
    section_id: uuid.UUID,
    change: CertifierChange,
    session: SessionDep,
    staff: CourseStaff,
) -> dict[str, int]:
    """Move a whole section and its undecided outcomes; audited."""
    moved = await reassign.reassign_section(
        session,
        school_code=school_code,
        section_id=section_id,
        teacher_id=change.teacher_id,
        actor_id=staff.principal.person_id,
    )
    return {"outcomes_moved": moved}
