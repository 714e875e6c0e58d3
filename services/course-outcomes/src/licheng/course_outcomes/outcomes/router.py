"""A student's own outcomes over HTTP: courses, outcomes, files, 送審 and 勾選; and reading one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Request, Response, UploadFile, status

from licheng.course_outcomes.auth import OutcomeReader, Student
from licheng.course_outcomes.courses import repository as courses
from licheng.course_outcomes.models import FileSlot
from licheng.course_outcomes.outcomes import repository, selection, service, views
from licheng.course_outcomes.outcomes.schemas import (
    CoursePublic,
    DownloadLink,
    OutcomeCreate,
    OutcomePublic,
    OutcomeUpdate,
    SelectionUpdate,
    StaffRef,
)
from licheng.course_outcomes.params import SemesterQuery, YearQuery
from licheng.course_outcomes.roster import repository as roster
from licheng.kit.db import SessionDep
from licheng.kit.errors import error_responses
from licheng.kit.settings import ServiceSettings
from licheng.kit.storage import ObjectStorage
from licheng.kit.versioning import ExpectedVersion

router = APIRouter(
    prefix="/api/course-outcomes/v1/schools/{school_code}",
    tags=["outcomes"],
    responses=error_responses(413, 415, 423),
)


@router.get("/me/courses", response_model=list[CoursePublic], summary="我的修課紀錄")
async def my_courses(
    academic_year: YearQuery, semester: SemesterQuery, session: SessionDep, me: Student
) -> list[CoursePublic]:
    """The student's courses of a term, to attach outcomes to."""
    rows = await courses.student_courses(
        session, me.school_code, me.person_id, academic_year, semester
    )
    certifiers = {s.certifier_id for _, s in rows}
    teachers = await roster.people_by_ids(session, me.school_code, certifiers)
    return [
        CoursePublic(
            enrolment_id=e.id,
            section_id=s.id,
            course_code=s.course_code,
            subject_name=s.subject_name,
            credits=s.credits,
            kind=e.kind,
            certifier_id=s.certifier_id,
            certifier=StaffRef.of(teachers.get(s.certifier_id)) if s.certifier_id else None,
        )
        for e, s in rows
    ]


@router.get("/me/outcomes", response_model=list[OutcomePublic], summary="我的課程學習成果")
async def my_outcomes(
    academic_year: YearQuery, semester: SemesterQuery, session: SessionDep, me: Student
) -> list[OutcomePublic]:
    """The student's outcomes of a term."""
    outcomes = await repository.list_for_student(
        session, me.school_code, me.person_id, academic_year, semester
    )
    return await views.public_views(session, me.school_code, [o.id for o in outcomes])


@router.post(
    "/outcomes",
    status_code=status.HTTP_201_CREATED,
    response_model=OutcomePublic,
    summary="新增課程學習成果",
)
async def create_outcome(payload: OutcomeCreate, session: SessionDep, me: Student) -> OutcomePublic:
    """A draft for one of the student's own courses."""
    outcome = await service.create(
        session, school_code=me.school_code, student_id=me.person_id, payload=payload
    )
    return await views.public_view(session, outcome)


@router.get("/outcomes/{outcome_id}", response_model=OutcomePublic, summary="課程學習成果")
async def read_outcome(
    school_code: str, outcome_id: uuid.UUID, session: SessionDep, reader: OutcomeReader
) -> OutcomePublic:
    """The student's own; any for course staff; the 導師's class; the certifier's (and 代理人's)."""
    outcome = await reader.open(session, outcome_id)
    return await views.public_view(session, outcome)


@router.patch("/outcomes/{outcome_id}", response_model=OutcomePublic, summary="修改課程學習成果")
async def update_outcome(
    outcome_id: uuid.UUID,
    payload: OutcomeUpdate,
    session: SessionDep,
    expected: ExpectedVersion,
    me: Student,
) -> OutcomePublic:
    """Edit a draft or a failed outcome."""
    outcome = await service.own_outcome(session, me.school_code, outcome_id, me.person_id)
    await service.update(
        session, outcome=outcome, payload=payload, expected_version=expected, actor_id=me.person_id
    )
    return await views.public_view(session, outcome)


@router.delete(
    "/outcomes/{outcome_id}", status_code=status.HTTP_204_NO_CONTENT, summary="刪除課程學習成果"
)
async def delete_outcome(outcome_id: uuid.UUID, session: SessionDep, me: Student) -> None:
    """Delete a draft or a failed outcome."""
    outcome = await service.own_outcome(session, me.school_code, outcome_id, me.person_id)
    await service.delete(session, outcome=outcome, actor_id=me.person_id)


# The `{file_id}` routes come before the `{slot}` ones: a file id never reaches `slot`.
@router.post(
    "/outcomes/{outcome_id}/files",
    status_code=status.HTTP_201_CREATED,
    response_model=OutcomePublic,
    summary="新增成果檔案",
    responses={200: {"description": "已認證的成果再次上傳它的檔案：不變", "model": OutcomePublic}},
)
async def add_file(
    outcome_id: uuid.UUID,
    request: Request,
    response: Response,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    me: Student,
) -> OutcomePublic:
    """One more file (pdf/jpg/png or mp3/mp4, by content), up to the parameters' files per
    outcome (409 `too_many_files`, checked before the upload is read); `Location` names it.

    On a certified outcome only one of its own files, byte-identical, is accepted (200, the
    certification stands); the same bytes twice in an editable one are 409."""
    outcome = await service.own_outcome(session, me.school_code, outcome_id, me.person_id)
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    stored, created = await service.add_file(
        session,
        storage=storage,
        bucket=settings.uploads_bucket,
        outcome=outcome,
        filename=file.filename or "upload",
        upload=file.file,
        actor_id=me.person_id,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = request.app.url_path_for(
        "file_link_by_id", school_code=me.school_code, outcome_id=outcome.id, file_id=stored.id
    )
    return await views.public_view(session, outcome)


@router.get(
    "/outcomes/{outcome_id}/files/{file_id:uuid}",
    response_model=DownloadLink,
    summary="成果檔案下載連結（依檔案編號）",
)
async def file_link_by_id(
    school_code: str,
    outcome_id: uuid.UUID,
    file_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    reader: OutcomeReader,
) -> DownloadLink:
    """A five-minute download link to one file, for whoever may open the outcome."""
    outcome = await reader.open(session, outcome_id)
    return await views.download_link_by_id(request, session, outcome, file_id)


# No `:uuid` here: there is no DELETE of a `{slot}`, and an id that is not one answers 422 like
# every other malformed id (with the converter, the `{slot}` routes matched it: 405).
@router.delete(
    "/outcomes/{outcome_id}/files/{file_id}",
    response_model=OutcomePublic,
    summary="刪除成果檔案",
)
async def delete_file(
    outcome_id: uuid.UUID, file_id: uuid.UUID, session: SessionDep, me: Student
) -> OutcomePublic:
    """Take a file off a draft or failed outcome, in the upload window."""
    outcome = await service.own_outcome(session, me.school_code, outcome_id, me.person_id)
    await service.remove_file(session, outcome=outcome, file_id=file_id, actor_id=me.person_id)
    return await views.public_view(session, outcome)


@router.put(
    "/outcomes/{outcome_id}/files/{slot}",
    response_model=OutcomePublic,
    summary="上傳成果文件或影音檔",
)
async def upload_file(
    outcome_id: uuid.UUID,
    slot: FileSlot,
    request: Request,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    me: Student,
) -> OutcomePublic:
    """document: pdf/jpg/png; media: mp3/mp4 — checked by content, limited by the parameters.

    Replaces the slot's one file, or adds one when it is empty (up to the files per outcome);
    a slot holding several files answers 409 `several_files_in_slot` (use the file id).
    """
    outcome = await service.own_outcome(session, me.school_code, outcome_id, me.person_id)
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    await service.attach_file(
        session,
        storage=storage,
        bucket=settings.uploads_bucket,
        outcome=outcome,
        slot=slot,
        filename=file.filename or "upload",
        upload=file.file,
        actor_id=me.person_id,
    )
    return await views.public_view(session, outcome)


@router.get(
    "/outcomes/{outcome_id}/files/{slot}", response_model=DownloadLink, summary="成果檔案下載連結"
)
async def file_link(
    school_code: str,
    outcome_id: uuid.UUID,
    slot: FileSlot,
    request: Request,
    session: SessionDep,
    reader: OutcomeReader,
) -> DownloadLink:
    """A five-minute download link for whoever may open the outcome (the slot's one file)."""
    outcome = await reader.open(session, outcome_id)
    return await views.download_link(request, session, outcome, slot)


@router.post("/outcomes/{outcome_id}/submission", response_model=OutcomePublic, summary="送審")
async def submit_outcome(outcome_id: uuid.UUID, session: SessionDep, me: Student) -> OutcomePublic:
    """Send the outcome to its certifying teacher."""
    outcome = await service.own_outcome(session, me.school_code, outcome_id, me.person_id)
    await service.submit(session, outcome=outcome, actor_id=me.person_id)
    return await views.public_view(session, outcome)


@router.put("/me/selections", response_model=list[OutcomePublic], summary="勾選提交的課程學習成果")
async def select_outcomes(
    payload: SelectionUpdate, session: SessionDep, me: Student
) -> list[OutcomePublic]:
    """Replace the term's selection; at most the parameters' cap, certified outcomes only."""
    chosen = await selection.set_selection(
        session, school_code=me.school_code, student_id=me.person_id, payload=payload
    )
    return await views.public_views(session, me.school_code, [o.id for o in chosen])
