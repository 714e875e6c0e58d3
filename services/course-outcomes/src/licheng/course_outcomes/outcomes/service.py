"""The outcome lifecycle: draft → submitted → certified | failed, with revoke and selection.

Every change checks the term lock and the parameters' window, moves state with an optimistic
version check (two teachers deciding at once, or a double submit: one wins, the other 409),
and writes its event and audit row in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import IO, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import (
    OutcomeCertified,
    OutcomeCreated,
    OutcomeDeleted,
    OutcomeFailed,
    OutcomeFileRef,
    OutcomeRevoked,
    OutcomeSnapshot,
    OutcomeSubmitted,
    OutcomeUpdated,
)
from licheng.course_outcomes.courses import repository as courses
from licheng.course_outcomes.locks.service import ensure_unlocked
from licheng.course_outcomes.models import (
    CourseSection,
    FileSlot,
    Outcome,
    OutcomeFile,
    OutcomeParameters,
    OutcomeStatus,
)
from licheng.course_outcomes.outcomes import repository
from licheng.course_outcomes.outcomes.schemas import Decision, OutcomeCreate, OutcomeUpdate
from licheng.course_outcomes.parameters import service as parameters
from licheng.kit.changes import record_change
from licheng.kit.db import release_connection
from licheng.kit.errors import BadRequest, Conflict, Forbidden, NotFound, QuotaExceeded
from licheng.kit.storage import (
    FileKind,
    KeyFor,
    ObjectStorage,
    UploadPolicy,
    inspect_spooled,
    safe_filename,
)
from licheng.kit.timeutil import utcnow

EDITABLE = frozenset({OutcomeStatus.DRAFT, OutcomeStatus.FAILED})
SLOT_KINDS = {
    FileSlot.DOCUMENT: frozenset({FileKind.PDF, FileKind.JPG, FileKind.PNG}),
    FileSlot.MEDIA: frozenset({FileKind.MP3, FileKind.MP4}),
}
STATE_CONFLICT = "此課程學習成果剛被變更，請重新整理後再試"


def _event(
    event: type[OutcomeSnapshot],
    outcome: Outcome,
    section: CourseSection | None,
    files: list[OutcomeFile],
) -> OutcomeSnapshot:
    return event(
        outcome_id=outcome.id,
        student_id=outcome.student_id,
        academic_year=outcome.academic_year,
        semester=outcome.semester,
        status=outcome.status.value,
        outcome_type=outcome.outcome_type.value,
        brief=outcome.brief,
        video_url=outcome.video_url,
        certifier_id=outcome.certifier_id,
        selected=outcome.selected,
        fail_reason=outcome.fail_reason.value if outcome.fail_reason else None,
        files=[
            OutcomeFileRef(slot=f.slot.value, key=f.object_key, sha256=f.sha256, kind=f.kind,
                           size=f.size)
            for f in files
        ],
        course_code=section.course_code if section else None,
        subject_name=section.subject_name if section else None,
        credits=section.credits if section else None,
        grade=section.grade if section else None,
    )  # fmt: skip


async def record_outcome_change(
    session: AsyncSession,
    outcome: Outcome,
    *,
    event: type[OutcomeSnapshot],
    actor_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    on_behalf_of: uuid.UUID | None = None,
) -> None:
    """Audit an outcome's change and publish its event with the whole outcome as it is now.

    `on_behalf_of` names the teacher a 代理人 acted for; the audit row keeps it.
    """
    section = await courses.get_section(session, outcome.school_code, outcome.section_id)
    files = (await repository.files_of(session, outcome.school_code, [outcome.id]))[outcome.id]
    payload = _event(event, outcome, section, files)
    record_change(
        session,
        school_code=outcome.school_code,
        actor_id=actor_id,
        entity="outcome",
        entity_id=outcome.id,
        event=payload,
        before=before,
        after=_snapshot(outcome)
        | {
            "fail_reason": payload.fail_reason,
            "certifier_id": str(outcome.certifier_id) if outcome.certifier_id else None,
        }
        | ({"acting_for": str(on_behalf_of)} if on_behalf_of else {}),
    )


def _snapshot(outcome: Outcome) -> dict[str, Any]:
    return {"status": outcome.status.value, "brief": outcome.brief, "selected": outcome.selected}


async def _term_rules(
    session: AsyncSession, outcome_or_section: Outcome | CourseSection
) -> OutcomeParameters:
    school = outcome_or_section.school_code
    year, semester = outcome_or_section.academic_year, outcome_or_section.semester
    await ensure_unlocked(session, school, year, semester)
    return await parameters.get(session, school, year, semester)


def _check_brief(brief: str, rules: OutcomeParameters) -> str:
    text = brief.strip()
    if not text:
        raise BadRequest("內容簡述為必填", code="brief_required")
    if len(text) > rules.brief_max_chars:
        raise BadRequest(
            f"內容簡述最多 {rules.brief_max_chars} 字（目前 {len(text)} 字）",
            code="brief_too_long",
            detail={"max_chars": rules.brief_max_chars},
        )
    return text


async def own_outcome(
    session: AsyncSession, school_code: str, outcome_id: uuid.UUID, student_id: uuid.UUID | None
) -> Outcome:
    """The caller's own outcome; 404 for anyone else's, never its data."""
    outcome = await repository.get_outcome(session, school_code, outcome_id)
    if outcome is None or outcome.student_id != student_id:
        raise NotFound("找不到此課程學習成果", code="outcome_not_found")
    return outcome


async def create(
    session: AsyncSession, *, school_code: str, student_id: uuid.UUID, payload: OutcomeCreate
) -> Outcome:
    """A new draft for one of the student's own courses, inside the upload window."""
    found = await courses.get_enrolment(session, school_code, payload.enrolment_id)
    if found is None or found[0].student_id != student_id:
        raise NotFound("找不到此修課紀錄", code="enrolment_not_found")
    enrolment, section = found
    rules = await _term_rules(session, section)
    parameters.check_window(rules.upload_from, rules.upload_until, what="學生上傳")
    count = await repository.count_for_term(
        session, school_code, student_id, section.academic_year, section.semester
    )
    if count >= rules.uploads_per_semester:
        raise QuotaExceeded(
            f"本學期最多上傳 {rules.uploads_per_semester} 件課程學習成果",
            detail={"limit": rules.uploads_per_semester},
        )
    outcome = Outcome(
        school_code=school_code,
        academic_year=section.academic_year,
        semester=section.semester,
        student_id=student_id,
        enrolment_id=enrolment.id,
        section_id=section.id,
        certifier_id=section.certifier_id,
        outcome_type=payload.outcome_type,
        brief=_check_brief(payload.brief, rules),
        video_url=str(payload.video_url) if payload.video_url else None,
        status=OutcomeStatus.DRAFT,
    )
    session.add(outcome)
    await session.flush()
    await record_outcome_change(session, outcome, event=OutcomeCreated, actor_id=student_id)
    return outcome


async def _editable(session: AsyncSession, outcome: Outcome) -> OutcomeParameters:
    rules = await _term_rules(session, outcome)
    parameters.check_window(rules.upload_from, rules.upload_until, what="學生上傳")
    if outcome.status not in EDITABLE:
        raise Conflict(
            "送審中或已認證的成果不能修改",
            code="outcome_not_editable",
            detail={"status": outcome.status.value},
        )
    return rules


async def update(
    session: AsyncSession,
    *,
    outcome: Outcome,
    payload: OutcomeUpdate,
    expected_version: int | None,
    actor_id: uuid.UUID | None,
) -> Outcome:
    """Edit a draft or failed outcome."""
    rules = await _editable(session, outcome)
    if expected_version is not None and expected_version != outcome.version:
        raise Conflict(
            STATE_CONFLICT, code="version_conflict", detail={"current_version": outcome.version}
        )
    changes = payload.model_dump(exclude_unset=True)
    values: dict[str, Any] = {}
    if "brief" in changes and payload.brief is not None:
        values["brief"] = _check_brief(payload.brief, rules)
    if "outcome_type" in changes and payload.outcome_type is not None:
        values["outcome_type"] = payload.outcome_type
    if "video_url" in changes:
        values["video_url"] = str(payload.video_url) if payload.video_url else None
    before = _snapshot(outcome)
    if not await repository.transition(session, outcome, allowed_from=EDITABLE, values=values):
        raise Conflict(STATE_CONFLICT, code="state_conflict")
    await record_outcome_change(
        session, outcome, event=OutcomeUpdated, actor_id=actor_id, before=before
    )
    return outcome


async def delete(session: AsyncSession, *, outcome: Outcome, actor_id: uuid.UUID | None) -> None:
    """Delete a draft or failed outcome (its stored files stay until the retention sweep)."""
    await _editable(session, outcome)
    await record_outcome_change(
        session,
        outcome,
        event=OutcomeDeleted,
        actor_id=actor_id,
        before=_snapshot(outcome),
    )
    for file in (await repository.files_of(session, outcome.school_code, [outcome.id]))[outcome.id]:
        await session.delete(file)
    await session.flush()
    await session.delete(outcome)
    await session.flush()


SLOT_OF = {kind: slot for slot, kinds in SLOT_KINDS.items() for kind in kinds}
_SLOT_NAMES = {FileSlot.DOCUMENT: "文件", FileSlot.MEDIA: "影音"}


def too_many_files(cap: int) -> Conflict:
    """The refusal of a file over the parameters' files per outcome."""
    return Conflict(f"每件成果最多上傳 {cap} 個檔案", code="too_many_files", detail={"limit": cap})


def several_in_slot(slot: FileSlot, files: list[OutcomeFile]) -> Conflict:
    """The refusal of a slot-addressed request when the slot holds several files."""
    return Conflict(
        f"此成果有 {len(files)} 個{_SLOT_NAMES[slot]}檔案，請以檔案編號（files/{{file_id}}）指定",
        code="several_files_in_slot",
        detail={"slot": slot.value, "file_ids": [str(f.id) for f in files]},
    )


async def _file_rules(session: AsyncSession, outcome: Outcome) -> OutcomeParameters:
    rules = await _term_rules(session, outcome)
    if outcome.status not in (*EDITABLE, OutcomeStatus.CERTIFIED):
        raise Conflict(
            "送審中的成果不能新增或更換檔案",
            code="outcome_not_editable",
            detail={"status": outcome.status.value},
        )
    if outcome.status in EDITABLE:
        parameters.check_window(rules.upload_from, rules.upload_until, what="學生上傳")
    return rules


async def _lock_editable(session: AsyncSession, outcome: Outcome) -> None:
    # Concurrent changes to one outcome's files queue here (PostgreSQL row lock) and see each
    # other's result, so two uploads at once cannot both pass the cap.
    if not await repository.lock_for_files(session, outcome):
        raise NotFound("找不到此課程學習成果", code="outcome_not_found")
    if outcome.status not in EDITABLE:
        raise Conflict(
            "送審中或已認證的成果不能修改",
            code="outcome_not_editable",
            detail={"status": outcome.status.value},
        )


def _refuse_certified() -> Conflict:
    return Conflict(
        "已認證的成果不能更換或新增檔案；如需修改請老師先取消認證", code="outcome_certified"
    )


def _key_for(outcome: Outcome) -> KeyFor:
    return KeyFor(
        school_code=outcome.school_code, owner_id=outcome.student_id, record_id=outcome.id
    )


async def _files_changed(
    session: AsyncSession, outcome: Outcome, *, before: dict[str, Any], actor_id: uuid.UUID | None
) -> None:
    if not await repository.transition(session, outcome, allowed_from=EDITABLE, values={}):
        raise Conflict(STATE_CONFLICT, code="state_conflict")
    await record_outcome_change(
        session, outcome, event=OutcomeUpdated, actor_id=actor_id, before=before
    )


async def _lock_for_write(session: AsyncSession, outcome: Outcome) -> OutcomeParameters:
    # The short transaction after the put: lock the row and check again what the first phase
    # saw, since the window, the lock or the outcome may have changed while the bytes went out.
    await _lock_editable(session, outcome)
    return await _file_rules(session, outcome)


async def attach_file(
    session: AsyncSession,
    *,
    storage: ObjectStorage,
    bucket: str,
    outcome: Outcome,
    slot: FileSlot,
    filename: str,
    upload: IO[bytes],
    actor_id: uuid.UUID | None,
) -> OutcomeFile:
    """Put a spooled upload into the outcome's slot: replace its one file there, or add one (the
    cap).

    A slot holding several files answers 409 (use the file id). On a certified outcome only a
    byte-identical re-upload is accepted, and it keeps the certification (the 2021 data-loss
    lesson: a matching hash needs no re-certification). No database connection is held while
    the bytes are checked and put to S3 (docs/course-outcomes.md, "Uploads and the pool").
    """
    rules = await _file_rules(session, outcome)
    limits = parameters.upload_policy(rules).max_bytes
    allowed = {kind: size for kind, size in limits.items() if kind in SLOT_KINDS[slot]}
    if not allowed:
        raise BadRequest("本學期未開放此類檔案", code="file_type_not_allowed")
    school = outcome.school_code
    in_slot = await repository.files_in_slot(session, school, outcome.id, slot)
    certified = outcome.status == OutcomeStatus.CERTIFIED
    if not certified:
        await _check_room(session, outcome, in_slot, slot=slot, cap=rules.files_per_outcome)
    await release_connection(session)
    received = await inspect_spooled(
        upload, policy=UploadPolicy(max_bytes=allowed), claimed=FileKind.from_filename(filename)
    )
    if certified:  # decided with the hash in hand, before anything reaches the bucket
        same = next((f for f in in_slot if f.sha256 == received.sha256), None)
        if same is not None:
            return same  # the same bytes again: certification stands, nothing changes
        raise _refuse_certified()
    stored = await storage.put(received, bucket=bucket, key_for=_key_for(outcome))
    rules = await _lock_for_write(session, outcome)
    in_slot = await repository.files_in_slot(session, school, outcome.id, slot)
    await _check_room(session, outcome, in_slot, slot=slot, cap=rules.files_per_outcome)
    before = _snapshot(outcome)
    name = safe_filename(filename, stored.kind)
    if in_slot:
        file = in_slot[0]
        file.object_key, file.sha256, file.size = stored.key, stored.sha256, stored.size
        file.kind, file.filename, file.uploaded_at = stored.kind.value, name, utcnow()
    else:
        file = OutcomeFile(
            school_code=school,
            outcome_id=outcome.id,
            slot=slot,
            object_key=stored.key,
            sha256=stored.sha256,
            size=stored.size,
            kind=stored.kind.value,
            filename=name,
        )
        session.add(file)
    await session.flush()
    await _files_changed(session, outcome, before=before, actor_id=actor_id)
    return file


async def _check_room(
    session: AsyncSession,
    outcome: Outcome,
    in_slot: list[OutcomeFile],
    *,
    slot: FileSlot,
    cap: int,
) -> None:
    if len(in_slot) > 1:
        raise several_in_slot(slot, in_slot)
    if in_slot:
        return
    if await repository.count_files(session, outcome.school_code, outcome.id) >= cap:
        raise too_many_files(cap)


async def add_file(
    session: AsyncSession,
    *,
    storage: ObjectStorage,
    bucket: str,
    outcome: Outcome,
    filename: str,
    upload: IO[bytes],
    actor_id: uuid.UUID | None,
) -> tuple[OutcomeFile, bool]:
    """Put one more spooled file into the outcome, up to the cap; (the file, whether it is new).

    No database connection is held while the bytes are checked and put to S3."""
    rules = await _file_rules(session, outcome)
    school = outcome.school_code
    held = (await repository.files_of(session, school, [outcome.id]))[outcome.id]
    certified = outcome.status == OutcomeStatus.CERTIFIED
    if not certified and len(held) >= rules.files_per_outcome:
        raise too_many_files(rules.files_per_outcome)  # before the bytes are even hashed
    await release_connection(session)
    received = await inspect_spooled(
        upload, policy=parameters.upload_policy(rules), claimed=FileKind.from_filename(filename)
    )
    same = next((f for f in held if f.sha256 == received.sha256), None)
    if certified:
        if same is not None:
            return same, False  # its own bytes again: certification stands, nothing changes
        raise _refuse_certified()
    if same is not None:
        raise already_attached(same)
    stored = await storage.put(received, bucket=bucket, key_for=_key_for(outcome))
    rules = await _lock_for_write(session, outcome)
    held = (await repository.files_of(session, school, [outcome.id]))[outcome.id]
    if len(held) >= rules.files_per_outcome:
        raise too_many_files(rules.files_per_outcome)
    same = next((f for f in held if f.sha256 == stored.sha256), None)
    if same is not None:
        raise already_attached(same)
    before = _snapshot(outcome)
    file = OutcomeFile(
        school_code=school,
        outcome_id=outcome.id,
        slot=SLOT_OF[stored.kind],
        object_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        kind=stored.kind.value,
        filename=safe_filename(filename, stored.kind),
    )
    session.add(file)
    await session.flush()
    await _files_changed(session, outcome, before=before, actor_id=actor_id)
    return file, True


def already_attached(same: OutcomeFile) -> Conflict:
    """409: these very bytes are already one of the outcome's files."""
    return Conflict(
        f"此檔案已在這件成果中（{same.filename}）",
        code="file_already_attached",
        detail={"file_id": str(same.id)},
    )


async def remove_file(
    session: AsyncSession, *, outcome: Outcome, file_id: uuid.UUID, actor_id: uuid.UUID | None
) -> None:
    """Take a file off a draft or failed outcome in the upload window (the object stays in S3)."""
    await _editable(session, outcome)
    await _lock_editable(session, outcome)
    file = await repository.file_by_id(session, outcome.school_code, outcome.id, file_id)
    if file is None:
        raise NotFound("此成果沒有這個檔案", code="file_not_found")
    before = _snapshot(outcome)
    await session.delete(file)
    await session.flush()
    await _files_changed(session, outcome, before=before, actor_id=actor_id)


async def submit(session: AsyncSession, *, outcome: Outcome, actor_id: uuid.UUID | None) -> Outcome:
    """送審: a draft or failed outcome with a file or a video link goes to its teacher."""
    await _editable(session, outcome)
    files = (await repository.files_of(session, outcome.school_code, [outcome.id]))[outcome.id]
    if not files and not outcome.video_url:
        raise BadRequest("送審前請上傳文件、影音檔或填寫影音連結", code="outcome_incomplete")
    if outcome.certifier_id is None:
        raise Conflict("此課程尚未設定認證教師，請洽課程學習提交者", code="no_certifier")
    before = _snapshot(outcome)
    values = {
        "status": OutcomeStatus.SUBMITTED,
        "submitted_at": utcnow(),
        "fail_reason": None,
        "fail_explanation": None,
    }
    if not await repository.transition(session, outcome, allowed_from=EDITABLE, values=values):
        raise Conflict("此成果已送審或狀態已變更", code="state_conflict")
    await record_outcome_change(
        session, outcome, event=OutcomeSubmitted, actor_id=actor_id, before=before
    )
    return outcome


def _acting_for(
    outcome: Outcome, teacher_id: uuid.UUID | None, acting_for: Collection[uuid.UUID] | None
) -> uuid.UUID | None:
    """Check the caller decides this outcome; the teacher they act for, when a 代理人."""
    allowed = set(acting_for) if acting_for is not None else {teacher_id}
    if teacher_id is None or outcome.certifier_id is None or outcome.certifier_id not in allowed:
        raise Forbidden("您不是此課程學習成果的認證教師，也不是其代理人", code="not_certifier")
    return outcome.certifier_id if outcome.certifier_id != teacher_id else None


async def decide(
    session: AsyncSession,
    *,
    outcome: Outcome,
    teacher_id: uuid.UUID | None,
    decision: Decision,
    acting_for: Collection[uuid.UUID] | None = None,
) -> Outcome:
    """認證成功 or 認證失敗 (with reason code and explanation), inside the certify window.

    `acting_for` lists the certifiers the caller may decide for (themself and, as 代理人, the
    teachers who named them); by default only themself.
    """
    on_behalf_of = _acting_for(outcome, teacher_id, acting_for)
    rules = await _term_rules(session, outcome)
    parameters.check_window(rules.certify_from, rules.certify_until, what="教師認證")
    before = _snapshot(outcome)
    if decision.certified:
        values: dict[str, Any] = {
            "status": OutcomeStatus.CERTIFIED,
            "fail_reason": None,
            "fail_explanation": None,
        }
        event: type[OutcomeSnapshot] = OutcomeCertified
    else:
        values = {
            "status": OutcomeStatus.FAILED,
            "fail_reason": decision.reason_code,
            "fail_explanation": (decision.explanation or "").strip(),
        }
        event = OutcomeFailed
    values.update(decided_by=teacher_id, decided_at=utcnow())
    allowed = {OutcomeStatus.SUBMITTED}
    if not await repository.transition(session, outcome, allowed_from=allowed, values=values):
        raise Conflict(
            "此成果不在待認證狀態，可能已由其他老師處理",
            code="not_certifiable",
            detail={"status": outcome.status.value},
        )
    await record_outcome_change(
        session, outcome, event=event, actor_id=teacher_id, before=before, on_behalf_of=on_behalf_of
    )
    return outcome


async def revoke(
    session: AsyncSession,
    *,
    outcome: Outcome,
    teacher_id: uuid.UUID | None,
    acting_for: Collection[uuid.UUID] | None = None,
) -> Outcome:
    """取消認證: the student may edit again and must resubmit; a selection is dropped."""
    on_behalf_of = _acting_for(outcome, teacher_id, acting_for)
    rules = await _term_rules(session, outcome)
    parameters.check_window(rules.certify_from, rules.certify_until, what="教師認證")
    before = _snapshot(outcome)
    values = {
        "status": OutcomeStatus.DRAFT,
        "selected": False,
        "decided_by": teacher_id,
        "decided_at": utcnow(),
    }
    allowed = {OutcomeStatus.CERTIFIED}
    if not await repository.transition(session, outcome, allowed_from=allowed, values=values):
        raise Conflict("只有認證成功的成果可以取消認證", code="not_certified")
    await record_outcome_change(
        session,
        outcome,
        event=OutcomeRevoked,
        actor_id=teacher_id,
        before=before,
        on_behalf_of=on_behalf_of,
    )
    return outcome
