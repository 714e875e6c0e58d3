"""課程諮詢紀錄: who reads which, recording, changing and deleting a record, its attachment.

A counselor lists, reads and changes only their own records; the school's admin reads all; a
導師 reads the records with at least one participant in their classes (and sees only those
participants). Every change is one conditional UPDATE on the record's version (a lost race is
a 409) with its audit row and event (ids only, never the topic, content or follow-up).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import IO, Any

from fastapi.exceptions import RequestValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import CounselingDeleted, CounselingRecorded, CounselingUpdated
from licheng.contracts.events.guidance import CounselingRecordChanged
from licheng.guidance.auth import Caller, Reader
from licheng.guidance.counseling import repository
from licheng.guidance.counseling.repository import CounselingQuery, Sight
from licheng.guidance.counseling.schemas import (
    CounselingCreate,
    CounselingFields,
    CounselingPublic,
)
from licheng.guidance.models import (
    CounselingAttachment,
    CounselingMode,
    CounselingRecord,
    KnownPerson,
)
from licheng.kit import roster
from licheng.kit.changes import record_change
from licheng.kit.db import release_connection
from licheng.kit.errors import Conflict, Forbidden, NotFound
from licheng.kit.merge_patch import apply_merge_patch
from licheng.kit.pagination import PageParams
from licheng.kit.people import StaffRef, StudentRef
from licheng.kit.storage import (
    MIB,
    FileKind,
    KeyFor,
    ObjectStorage,
    UploadPolicy,
    inspect_spooled,
    safe_filename,
)
from licheng.kit.timeutil import utcnow

ENTITY = "counseling"
UPLOAD_POLICY = UploadPolicy(
    max_bytes={FileKind.PDF: 10 * MIB, FileKind.JPG: 10 * MIB, FileKind.PNG: 10 * MIB}
)
PARTICIPANT_FIELDS = ("student_ids", "class_code")
# One refused input: where it is under the body, a stable code, and a zh-TW sentence naming it.
Problem = tuple[tuple[str | int, ...], str, str]


def not_found() -> NotFound:
    """The answer for a record the caller may not see: never its data."""
    return NotFound("找不到此課程諮詢紀錄", code="counseling_not_found")


def invalid(problems: list[Problem]) -> RequestValidationError:
    """A 422 naming every refused field (the kit's handler words each in zh-TW)."""
    return RequestValidationError(
        [{"type": code, "loc": ("body", *loc), "msg": message, "input": None}
         for loc, code, message in problems]
    )  # fmt: skip


def sight(reader: Reader, *, mine: bool = False) -> Sight:
    """Which records the reader sees; 403 for whoever reads none (a student, say)."""
    if not (reader.admin or reader.counselor or reader.homeroom_classes):
        raise Forbidden("您沒有瀏覽課程諮詢紀錄的權限", code="counseling_not_readable")
    own = reader.person_id if reader.counselor else None
    if mine:
        return Sight(everything=False, counselor_id=reader.person_id, classes=frozenset())
    return Sight(everything=reader.admin, counselor_id=own, classes=reader.homeroom_classes)


def own_sight(caller: Caller) -> Sight:
    """A counselor's own records, nothing else."""
    return Sight(everything=False, counselor_id=caller.person_id, classes=frozenset())


async def _sees(session: AsyncSession, seen: Sight, record: CounselingRecord) -> bool:
    if seen.everything or record.counselor_id == seen.counselor_id:
        return True
    if not seen.classes:
        return False
    ids = (await repository.participants_of(session, record.school_code, [record.id]))[record.id]
    people = await roster.people_by_ids(session, record.school_code, ids)
    return any(p.class_code in seen.classes for p in people.values())


async def readable(session: AsyncSession, reader: Reader, record_id: uuid.UUID) -> CounselingRecord:
    """The record if the reader may read it; 404 otherwise (403 for who reads none at all)."""
    seen = sight(reader)
    record = await repository.get_record(session, reader.school_code, record_id)
    if record is None or not await _sees(session, seen, record):
        raise not_found()
    return record


async def own_record(
    session: AsyncSession, caller: Caller, record_id: uuid.UUID
) -> CounselingRecord:
    """The counselor's own record; another counselor's is 403 `not_your_record`."""
    record = await repository.get_record(session, caller.school_code, record_id)
    if record is None:
        raise not_found()
    if record.counselor_id != caller.person_id:
        raise Forbidden("只有撰寫此紀錄的課程諮詢教師可以修改", code="not_your_record")
    return record


# Views -------------------------------------------------------------------------------------


def _ordered(people: Sequence[KnownPerson]) -> list[StudentRef]:
    ranked = sorted(people, key=lambda p: (p.class_code or "", p.seat_no or 0, p.local_no))
    return [ref for p in ranked if (ref := StudentRef.of(p)) is not None]


async def public_views(
    session: AsyncSession,
    school_code: str,
    records: Sequence[CounselingRecord],
    seen: Sight,
) -> list[CounselingPublic]:
    """The API view of each record, in order; a 導師 who neither wrote the record nor reads all
    sees only the participants of their own classes."""
    ids = [r.id for r in records]
    participants = await repository.participants_of(session, school_code, ids)
    attachments = await repository.attachments_of(session, school_code, ids)
    wanted = {s for r in records for s in participants[r.id]} | {r.counselor_id for r in records}
    people = await roster.people_by_ids(session, school_code, wanted)
    views: list[CounselingPublic] = []
    for record in records:
        students = [people[s] for s in participants[record.id] if s in people]
        if not (seen.everything or record.counselor_id == seen.counselor_id):
            students = [p for p in students if p.class_code in seen.classes]
        views.append(
            CounselingPublic.of(
                record,
                counselor=StaffRef.of(people.get(record.counselor_id)),
                students=_ordered(students),
                attachment=attachments.get(record.id),
            )
        )
    return views


async def public_view(
    session: AsyncSession, record: CounselingRecord, seen: Sight
) -> CounselingPublic:
    """The API view of one record."""
    return (await public_views(session, record.school_code, [record], seen))[0]


async def listing(
    session: AsyncSession, *, reader: Reader, query: CounselingQuery, mine: bool, paging: PageParams
) -> tuple[list[CounselingPublic], int]:
    """One page of the records the reader sees, newest first, and the total."""
    seen = sight(reader, mine=mine)
    records, total = await repository.list_records(session, reader.school_code, seen, query, paging)
    return await public_views(session, reader.school_code, records, seen), total


async def export_rows(
    session: AsyncSession, *, caller: Caller, query: CounselingQuery, offset: int, limit: int
) -> list[dict[str, Any]]:
    """Rows `offset`… of the counselor's own records, as the download's cells read them."""
    seen = own_sight(caller)
    records = await repository.fetch_records(
        session, caller.school_code, seen, query, offset=offset, limit=limit
    )
    views = await public_views(session, caller.school_code, records, seen)
    return [view.model_dump() for view in views]


async def student_label(
    session: AsyncSession, school_code: str, student_id: uuid.UUID | None
) -> str | None:
    """A student filter as the download's notes name it: 學號 and 姓名."""
    if student_id is None:
        return None
    person = await roster.get_person(session, school_code, student_id)
    return f"{person.local_no} {person.name}" if person else str(student_id)


# Changes -----------------------------------------------------------------------------------


def _shape_problems(fields: CounselingFields) -> list[Problem]:
    if fields.mode == CounselingMode.INDIVIDUAL:
        problems: list[Problem] = []
        if fields.class_code is not None:
            problems.append((("class_code",), "individual_with_class", "個別諮詢不能指定班級"))
        if len(set(fields.student_ids)) != 1:
            problems.append(
                (("student_ids",), "individual_needs_one_student", "個別諮詢須指定恰好一位學生")
            )
        return problems
    if not fields.student_ids and fields.class_code is None:
        return [(("student_ids",), "group_needs_students", "團體諮詢須指定至少一位學生或一個班級")]
    return []


async def _participants(
    session: AsyncSession, school_code: str, fields: CounselingFields
) -> list[uuid.UUID]:
    """The sent students plus, with a class, its enrolled students now; every sent student must
    be an enrolled student of the school (422 naming each refused one)."""
    problems = _shape_problems(fields)
    known = await repository.enrolled_by_ids(session, school_code, fields.student_ids)
    chosen: list[uuid.UUID] = []
    for index, student_id in enumerate(fields.student_ids):
        if student_id not in known:
            problems.append((("student_ids", index), "student_unknown",
                             f"學生 {student_id} 不是本校在籍學生"))  # fmt: skip
        elif student_id not in chosen:
            chosen.append(student_id)
    if fields.class_code is not None:
        members = await repository.enrolled_in_class(session, school_code, fields.class_code)
        if not members:
            problems.append((("class_code",), "class_unknown",
                             f"班級「{fields.class_code}」沒有在籍學生"))  # fmt: skip
        chosen += [m.id for m in members if m.id not in chosen]
    if problems:
        raise invalid(problems)
    return chosen


def snapshot(
    record: CounselingRecord,
    student_ids: Sequence[uuid.UUID],
    attachment: CounselingAttachment | None,
) -> dict[str, Any]:
    """What the audit log keeps of a record: ids, the date, lengths and hashes — no text."""
    return {
        "held_on": record.held_on.isoformat(),
        "mode": record.mode.value,
        "class_code": record.class_code,
        "student_ids": sorted(str(s) for s in student_ids),
        "topic_chars": len(record.topic),
        "content_chars": len(record.content),
        "follow_up_chars": len(record.follow_up or ""),
        "attachment_sha256": attachment.sha256 if attachment else None,
        "version": record.version,
    }


def _announce(
    session: AsyncSession,
    record: CounselingRecord,
    *,
    event: type[CounselingRecordChanged],
    actor_id: uuid.UUID,
    student_ids: Sequence[uuid.UUID],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    record_change(
        session,
        school_code=record.school_code,
        actor_id=actor_id,
        entity=ENTITY,
        entity_id=record.id,
        event=event(
            record_id=record.id,
            counselor_id=record.counselor_id,
            student_ids=list(student_ids),
            mode=record.mode.value,
        ),
        before=before,
        after=after,
    )


async def create(
    session: AsyncSession, *, school_code: str, counselor_id: uuid.UUID, payload: CounselingCreate
) -> CounselingRecord:
    """A new record by the counselor, with its participants."""
    student_ids = await _participants(session, school_code, payload)
    record = CounselingRecord(
        school_code=school_code,
        counselor_id=counselor_id,
        held_on=payload.held_on,
        mode=payload.mode,
        class_code=payload.class_code,
        topic=payload.topic,
        content=payload.content,
        follow_up=payload.follow_up,
    )
    session.add(record)
    await session.flush()
    await repository.replace_participants(session, record, student_ids)
    _announce(session, record, event=CounselingRecorded, actor_id=counselor_id,
              student_ids=student_ids, before=None,
              after=snapshot(record, student_ids, None))  # fmt: skip
    return record


def version_conflict(record: CounselingRecord) -> Conflict:
    """The answer for an `If-Match` that is not the record's version."""
    return Conflict(
        "此筆課程諮詢紀錄已被修改，請重新整理後再試",
        code="version_conflict",
        detail={"current_version": record.version},
    )


def _current(record: CounselingRecord, student_ids: list[uuid.UUID]) -> dict[str, Any]:
    return {
        "held_on": record.held_on,
        "mode": record.mode,
        "student_ids": student_ids,
        "class_code": record.class_code,
        "topic": record.topic,
        "content": record.content,
        "follow_up": record.follow_up,
    }


async def update(
    session: AsyncSession,
    *,
    record: CounselingRecord,
    sent: dict[str, Any],
    expected_version: int | None,
    actor_id: uuid.UUID,
) -> CounselingRecord:
    """Merge the sent fields into the record and re-validate all of it. Sending `student_ids` or
    `class_code` replaces the participants; a class sent alone lists just its students."""
    if expected_version is not None and expected_version != record.version:
        raise version_conflict(record)
    school = record.school_code
    current_ids = (await repository.participants_of(session, school, [record.id]))[record.id]
    patch = dict(sent)
    if patch.get("class_code") is not None and "student_ids" not in patch:
        patch["student_ids"] = []
    merged = apply_merge_patch(
        _current(record, current_ids),
        patch,
        model=CounselingFields,
        nullable=("class_code", "follow_up"),
    )
    if any(name in sent for name in PARTICIPANT_FIELDS):
        student_ids = await _participants(session, school, merged)
    else:
        problems = _shape_problems(merged)
        if problems:
            raise invalid(problems)
        student_ids = current_ids
    changes = {
        "held_on": merged.held_on,
        "mode": merged.mode,
        "class_code": merged.class_code,
        "topic": merged.topic,
        "content": merged.content,
        "follow_up": merged.follow_up,
    }
    moved = set(student_ids) != set(current_ids)
    if not moved and all(getattr(record, k) == v for k, v in changes.items()):
        return record  # nothing changes: no write, no event
    attachment = await repository.get_attachment(session, school, record.id)
    before = snapshot(record, current_ids, attachment)
    for name, value in changes.items():
        setattr(record, name, value)
    record.updated_at = utcnow()
    await session.flush()  # a conditional UPDATE on the version: a lost race is a 409
    if moved:
        await repository.replace_participants(session, record, student_ids)
    _announce(session, record, event=CounselingUpdated, actor_id=actor_id,
              student_ids=student_ids, before=before,
              after=snapshot(record, student_ids, attachment))  # fmt: skip
    return record


async def delete(session: AsyncSession, *, record: CounselingRecord, actor_id: uuid.UUID) -> None:
    """Delete the record, its participants and its attachment row (the object stays in S3)."""
    school = record.school_code
    student_ids = (await repository.participants_of(session, school, [record.id]))[record.id]
    attachment = await repository.get_attachment(session, school, record.id)
    _announce(session, record, event=CounselingDeleted, actor_id=actor_id,
              student_ids=student_ids, before=snapshot(record, student_ids, attachment),
              after=None)  # fmt: skip
    await repository.replace_participants(session, record, [])
    if attachment is not None:
        await session.delete(attachment)
    await session.flush()
    await session.delete(record)
    await session.flush()  # a conditional DELETE on the version: a concurrent change is a 409


async def _attachment_changed(
    session: AsyncSession,
    record: CounselingRecord,
    *,
    before: dict[str, Any],
    attachment: CounselingAttachment | None,
    actor_id: uuid.UUID,
) -> None:
    record.updated_at = utcnow()  # bumps the version: a client's If-Match sees the change
    await session.flush()
    student_ids = (await repository.participants_of(session, record.school_code, [record.id]))[
        record.id
    ]
    _announce(session, record, event=CounselingUpdated, actor_id=actor_id,
              student_ids=student_ids, before=before,
              after=snapshot(record, student_ids, attachment))  # fmt: skip


async def _lock(session: AsyncSession, record: CounselingRecord) -> None:
    if not await repository.lock_record(session, record):
        raise not_found()


async def attach(
    session: AsyncSession,
    *,
    storage: ObjectStorage,
    bucket: str,
    record: CounselingRecord,
    filename: str,
    upload: IO[bytes],
    actor_id: uuid.UUID,
) -> CounselingAttachment:
    """Put the record's spooled attachment (pdf/jpg/png by content, 10 MB), replacing any it
    had; nothing reaches the bucket unless it is accepted, and no database connection is held
    while the bytes are checked and put (the row is locked and written after the put)."""
    school = record.school_code
    await release_connection(session)
    received = await inspect_spooled(
        upload, policy=UPLOAD_POLICY, claimed=FileKind.from_filename(filename)
    )
    key_for = KeyFor(school_code=school, owner_id=record.counselor_id, record_id=record.id)
    stored = await storage.put(received, bucket=bucket, key_for=key_for)
    await _lock(session, record)
    current = await repository.get_attachment(session, school, record.id)
    ids = (await repository.participants_of(session, school, [record.id]))[record.id]
    before = snapshot(record, ids, current)
    attachment = current or CounselingAttachment(
        record_id=record.id, school_code=school, object_key="", sha256="", size=0, kind="",
        filename="",
    )  # fmt: skip
    attachment.object_key = stored.key
    attachment.sha256 = stored.sha256
    attachment.size = stored.size
    attachment.kind = stored.kind.value
    attachment.filename = safe_filename(filename, stored.kind)
    attachment.uploaded_at = utcnow()
    session.add(attachment)
    await _attachment_changed(
        session, record, before=before, attachment=attachment, actor_id=actor_id
    )
    return attachment


async def detach(session: AsyncSession, *, record: CounselingRecord, actor_id: uuid.UUID) -> None:
    """Take the attachment off the record (the stored object stays in S3)."""
    await _lock(session, record)
    school = record.school_code
    attachment = await repository.get_attachment(session, school, record.id)
    if attachment is None:
        raise NotFound("此紀錄沒有附件", code="attachment_not_found")
    ids = (await repository.participants_of(session, school, [record.id]))[record.id]
    before = snapshot(record, ids, attachment)
    await session.delete(attachment)
    await _attachment_changed(session, record, before=before, attachment=None, actor_id=actor_id)


async def attachment_key(session: AsyncSession, record: CounselingRecord) -> str:
    """Where the record's attachment is stored; 404 when it has none."""
    attachment = await repository.get_attachment(session, record.school_code, record.id)
    if attachment is None:
        raise NotFound("此紀錄沒有附件", code="attachment_not_found")
    return attachment.object_key
