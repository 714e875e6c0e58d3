"""A student's 多元表現 records (學生自填 and 學校匯入) and their proof files.

Every change happens inside the year's fill window and while its 名冊 25 is not locked (423),
re-validates the whole record with the category's definition (`categories.clean_fields`),
moves the row with a conditional UPDATE on its version (a lost race is a 409) and writes its
audit row and event in the same transaction (`record_performance_change`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import IO, Any

from fastapi.exceptions import RequestValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import PerformanceCreated, PerformanceDeleted, PerformanceUpdated
from licheng.contracts.permissions import Scope
from licheng.contracts.rosters import RosterCode
from licheng.kit import roster
from licheng.kit.db import release_connection
from licheng.kit.errors import Conflict, NotFound
from licheng.kit.pagination import PageParams
from licheng.kit.permissions import Grant
from licheng.kit.storage import FileKind, KeyFor, ObjectStorage, inspect_spooled, safe_filename
from licheng.kit.timeutil import utcnow
from licheng.performances.auth import reads_school_wide
from licheng.performances.categories import BRIEF_LABEL, CATEGORIES, FieldProblem, clean_fields
from licheng.performances.locks.service import ensure_unlocked
from licheng.performances.models import (
    Category,
    Origin,
    Performance,
    PerformanceFile,
    PerformanceParameters,
)
from licheng.performances.parameters import service as parameters
from licheng.performances.records import repository
from licheng.performances.records.changes import record_performance_change, snapshot
from licheng.performances.records.schemas import PerformanceCreate, PerformanceUpdate

FILL = "學生填寫多元表現"
CERTIFICATE_FIELD = "certificate_code"
# One refused input: where it is under the body, a stable code, and a zh-TW sentence naming it.
Problem = tuple[tuple[str, ...], str, str]


def not_found() -> NotFound:
    """The answer for a record the caller may not see: never its data."""
    return NotFound("找不到此多元表現紀錄", code="performance_not_found")


def invalid(problems: list[Problem]) -> RequestValidationError:
    """A 422 naming every refused field (the kit's handler words each in zh-TW)."""
    return RequestValidationError(
        [{"type": code, "loc": ("body", *loc), "msg": message, "input": None}
         for loc, code, message in problems]
    )  # fmt: skip


async def own_record(
    session: AsyncSession, school_code: str, record_id: uuid.UUID, student_id: uuid.UUID
) -> Performance:
    """The caller's own record; 404 for anyone else's."""
    record = await repository.get_record(session, school_code, record_id)
    if record is None or record.student_id != student_id:
        raise not_found()
    return record


async def readable(session: AsyncSession, grant: Grant, record_id: uuid.UUID) -> Performance:
    """The record if the caller may read it: the student themself, school-wide performance or
    cadre staff, or the 導師 of the student's class; 404 for everyone else."""
    record = await repository.get_record(session, grant.school_code, record_id)
    if record is None or not await _reaches(session, grant, record):
        raise not_found()
    return record


async def _reaches(session: AsyncSession, grant: Grant, record: Performance) -> bool:
    person_id = grant.principal.person_id
    if Scope.OWN in grant.scopes and person_id is not None and record.student_id == person_id:
        return True
    if reads_school_wide(grant):
        return True
    if Scope.OWN_CLASS in grant.scopes and person_id is not None:
        classes = await roster.homeroom_classes(session, record.school_code, person_id)
        student = await roster.get_person(session, record.school_code, record.student_id)
        return student is not None and student.class_code in classes
    return False


async def staff_student_records(
    session: AsyncSession,
    *,
    grant: Grant,
    student_id: uuid.UUID,
    academic_year: int | None,
    category: Category | None,
    paging: PageParams,
) -> tuple[list[Performance], int]:
    """One student's records for school-wide staff or the 導師 of the student's class, by year
    then oldest first; 404 for a student the caller does not reach (or the school lacks)."""
    student = await roster.get_person(session, grant.school_code, student_id)
    if student is None or student.kind != roster.PersonKind.STUDENT:
        raise student_not_found()
    if not reads_school_wide(grant):
        classes = (
            await roster.homeroom_classes(session, grant.school_code, grant.principal.person_id)
            if Scope.OWN_CLASS in grant.scopes and grant.principal.person_id is not None
            else []
        )
        if student.class_code not in classes:
            raise student_not_found()
    return await repository.student_records(
        session, grant.school_code, student_id,
        academic_year=academic_year, category=category, paging=paging,
    )  # fmt: skip


def student_not_found() -> NotFound:
    """The answer for a student the caller may not see."""
    return NotFound("找不到此學生，或此學生不在您可瀏覽的範圍", code="student_not_found")


async def fill_rules(
    session: AsyncSession, school_code: str, academic_year: int
) -> PerformanceParameters:
    """The year's parameters, once its 名冊 25 is unlocked (423) and the fill window open (409)."""
    await ensure_unlocked(session, school_code, RosterCode.PERFORMANCES, academic_year)
    rules = await parameters.get(session, school_code, academic_year)
    parameters.check_window(rules.fill_from, rules.fill_until, what=FILL)
    return rules


def _brief(brief: str | None, rules: PerformanceParameters) -> tuple[str, Problem | None]:
    text = (brief or "").strip()
    if not text:
        return text, (("brief",), "brief_required", f"{BRIEF_LABEL}為必填")
    cap = rules.brief_max_chars
    if len(text) > cap:
        return text, (
            ("brief",),
            "brief_too_long",
            f"{BRIEF_LABEL}最多 {cap} 字（目前 {len(text)} 字）",
        )
    return text, None


async def _certificate_problem(
    session: AsyncSession,
    school_code: str,
    category: Category,
    cleaned: Mapping[str, Any],
    keep: str | None,
) -> Problem | None:
    """A 檢定證照 record names an active item of the school's catalog; a record may keep the
    item it already names after the item was deactivated."""
    code = cleaned.get(CERTIFICATE_FIELD)
    if category != Category.CERTIFICATE or code is None or code == keep:
        return None
    item = (await repository.certificates_by_codes(session, school_code, [code])).get(code)
    loc = ("fields", CERTIFICATE_FIELD)
    if item is None:
        return loc, "certificate_unknown", f"證照代碼「{code}」不在學校的檢定證照項目中"
    if not item.active:
        return loc, "certificate_inactive", f"證照代碼「{code}」（{item.name}）已停用，不能選用"
    return None


def _field_problems(problems: list[FieldProblem]) -> list[Problem]:
    return [(("fields", p.field), p.code, p.message) for p in problems]


async def create(
    session: AsyncSession, *, school_code: str, student_id: uuid.UUID, payload: PerformanceCreate
) -> Performance:
    """A new self-filled record of the student, inside the fill window."""
    rules = await fill_rules(session, school_code, payload.academic_year)
    cleaned, field_problems = clean_fields(payload.category, payload.fields)
    problems = _field_problems(field_problems)
    brief, brief_problem = _brief(payload.brief, rules)
    certificate = await _certificate_problem(session, school_code, payload.category, cleaned, None)
    problems += [p for p in (certificate, brief_problem) if p is not None]
    if problems:
        raise invalid(problems)
    record = Performance(
        school_code=school_code,
        student_id=student_id,
        academic_year=payload.academic_year,
        category=payload.category,
        origin=Origin.SELF,
        fields=cleaned,
        certificate_code=_certificate_code(payload.category, cleaned),
        brief=brief,
        video_url=payload.video_url,
    )
    session.add(record)
    await session.flush()
    await record_performance_change(session, record, event=PerformanceCreated, actor_id=student_id)
    return record


def _certificate_code(category: Category, fields: Mapping[str, Any]) -> str | None:
    return fields.get(CERTIFICATE_FIELD) if category == Category.CERTIFICATE else None


def _merged(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def _imported_fixed() -> Conflict:
    return Conflict(
        "此筆多元表現由學校匯入，類別與欄位不能修改；您可以修改內容簡述、影音檔案外部連結與證明文件",
        code="imported_record_fixed",
    )


def version_conflict(record: Performance) -> Conflict:
    """The answer for an `If-Match` that is not the record's version."""
    return Conflict(
        "此筆多元表現已被修改，請重新整理後再試",
        code="version_conflict",
        detail={"current_version": record.version},
    )


async def _fields_after(
    session: AsyncSession, record: Performance, category: Category, payload: PerformanceUpdate
) -> tuple[dict[str, Any], list[Problem]]:
    """The record's fields after the patch, cleaned, and the problems found. `fields` merges
    into the stored ones unless the category changes; an imported record keeps its own."""
    moved = category != record.category
    imported = record.origin == Origin.IMPORTED
    if imported and not moved and "fields" not in payload.model_fields_set:
        return dict(record.fields), []  # the school's data, not the student's to fix
    patch = payload.fields or {}
    raw = dict(patch) if moved else _merged(record.fields, patch)
    cleaned, field_problems = clean_fields(category, raw)
    if imported and (moved or field_problems or cleaned != record.fields):
        raise _imported_fixed()
    problems = _field_problems(field_problems)
    keep = None
    if record.category == Category.CERTIFICATE:
        keep = record.certificate_code or record.fields.get(CERTIFICATE_FIELD)
    certificate = await _certificate_problem(session, record.school_code, category, cleaned, keep)
    return cleaned, problems + ([certificate] if certificate else [])


async def update(
    session: AsyncSession,
    *,
    record: Performance,
    payload: PerformanceUpdate,
    expected_version: int | None,
    actor_id: uuid.UUID | None,
) -> Performance:
    """Merge the sent changes into the record and re-validate all of it.

    An imported record keeps its category and fields (409 `imported_record_fixed`).
    """
    rules = await fill_rules(session, record.school_code, record.academic_year)
    if expected_version is not None and expected_version != record.version:
        raise version_conflict(record)
    sent = payload.model_fields_set
    nulls = [
        name for name in ("category", "fields") if name in sent and getattr(payload, name) is None
    ]
    if nulls:
        raise invalid([((n,), "null_not_allowed", "此欄位不可設為 null") for n in nulls])
    category = payload.category or record.category
    cleaned, problems = await _fields_after(session, record, category, payload)
    brief, brief_problem = _brief(payload.brief if "brief" in sent else record.brief, rules)
    problems += [brief_problem] if brief_problem else []
    if problems:
        raise invalid(problems)
    video_url = payload.video_url if "video_url" in sent else record.video_url
    before = snapshot(record)
    changes = {"category": category, "fields": cleaned, "brief": brief, "video_url": video_url}
    if all(getattr(record, name) == value for name, value in changes.items()):
        return record  # nothing changes: no write, no event
    for name, value in changes.items():
        setattr(record, name, value)
    record.certificate_code = _certificate_code(category, cleaned)
    record.updated_at = utcnow()
    await session.flush()  # a conditional UPDATE on the version: a lost race is a 409
    await record_performance_change(
        session, record, event=PerformanceUpdated, actor_id=actor_id, before=before
    )
    return record


async def delete(session: AsyncSession, *, record: Performance, actor_id: uuid.UUID | None) -> None:
    """Delete a self-filled record and its file rows (the stored objects stay in S3)."""
    if record.origin == Origin.IMPORTED:
        raise Conflict(
            "學校匯入的多元表現不能刪除；如內容有誤請洽多元項目管理者",
            code="imported_record_undeletable",
        )
    await fill_rules(session, record.school_code, record.academic_year)
    await record_performance_change(
        session, record, event=PerformanceDeleted, actor_id=actor_id, before=snapshot(record)
    )
    for file in (await repository.files_of(session, record.school_code, [record.id]))[record.id]:
        await session.delete(file)
    await session.flush()
    await session.delete(record)
    await session.flush()  # a conditional DELETE on the version: a concurrent change is a 409


def too_many_files(cap: int) -> Conflict:
    """The refusal of a file over the parameters' files per record."""
    return Conflict(
        f"每筆多元表現最多上傳 {cap} 個證明文件", code="too_many_files", detail={"limit": cap}
    )


async def _lock(session: AsyncSession, record: Performance) -> None:
    # Concurrent changes to one record's files queue here (PostgreSQL row lock) and see each
    # other's result, so two uploads at once cannot both pass the cap.
    if not await repository.lock_record(session, record):
        raise not_found()


async def _files_changed(
    session: AsyncSession,
    record: Performance,
    *,
    before: dict[str, Any],
    actor_id: uuid.UUID | None,
) -> None:
    record.updated_at = utcnow()  # bumps the version: a client's If-Match sees the change
    await session.flush()
    await record_performance_change(
        session, record, event=PerformanceUpdated, actor_id=actor_id, before=before
    )


async def add_file(
    session: AsyncSession,
    *,
    storage: ObjectStorage,
    bucket: str,
    record: Performance,
    filename: str,
    upload: IO[bytes],
    actor_id: uuid.UUID | None,
) -> PerformanceFile:
    """Put one more spooled proof file into the record (type by content, size by the
    parameters), up to the files per record; nothing reaches the bucket unless it is accepted.

    No database connection is held while the bytes are checked and put to S3: the checks run
    first, the connection goes back, and the row is written after the put under the record's
    lock, every check made again (docs/performances.md, "Uploads and the pool")."""
    rules = await fill_rules(session, record.school_code, record.academic_year)
    school = record.school_code
    held = (await repository.files_of(session, school, [record.id]))[record.id]
    _check_room(held, cap=rules.files_per_record)  # before the bytes are even hashed
    await release_connection(session)
    received = await inspect_spooled(
        upload, policy=parameters.upload_policy(rules), claimed=FileKind.from_filename(filename)
    )
    _check_room(held, cap=rules.files_per_record, sha256=received.sha256)
    key_for = KeyFor(school_code=school, owner_id=record.student_id, record_id=record.id)
    stored = await storage.put(received, bucket=bucket, key_for=key_for)
    await _lock(session, record)
    rules = await fill_rules(session, school, record.academic_year)
    held = (await repository.files_of(session, school, [record.id]))[record.id]
    _check_room(held, cap=rules.files_per_record, sha256=stored.sha256)
    before = snapshot(record)
    file = PerformanceFile(
        school_code=school,
        performance_id=record.id,
        object_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        kind=stored.kind.value,
        filename=safe_filename(filename, stored.kind),
    )
    session.add(file)
    await _files_changed(session, record, before=before, actor_id=actor_id)
    return file


def _check_room(held: list[PerformanceFile], *, cap: int, sha256: str | None = None) -> None:
    if len(held) >= cap:
        raise too_many_files(cap)
    same = next((f for f in held if sha256 is not None and f.sha256 == sha256), None)
    if same is not None:
        raise Conflict(
            f"此檔案已附加在這筆多元表現（{same.filename}）",
            code="file_already_attached",
            detail={"file_id": str(same.id)},
        )


async def remove_file(
    session: AsyncSession, *, record: Performance, file_id: uuid.UUID, actor_id: uuid.UUID | None
) -> None:
    """Take a proof file off the record (the stored object stays in S3)."""
    await fill_rules(session, record.school_code, record.academic_year)
    await _lock(session, record)
    file = await repository.file_by_id(session, record.school_code, record.id, file_id)
    if file is None:
        raise NotFound("此多元表現沒有這個檔案", code="file_not_found")
    before = snapshot(record)
    await session.delete(file)
    await _files_changed(session, record, before=before, actor_id=actor_id)


def category_title(category: Category) -> str:
    """The category's name as the seed calls it."""
    return CATEGORIES[category].title
