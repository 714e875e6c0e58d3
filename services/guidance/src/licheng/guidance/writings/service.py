"""自傳 and 學習計畫: a student saves versions; their readers read and compare them.

Every save appends an immutable `WritingVersion` (text and, optionally, a PDF) and moves the
current text on `Writing` with a conditional UPDATE on its version (`version_id_col`): two tabs
saving from the same version give one winner and one 409, never a silent overwrite. Saving
happens only inside the school's editing window, when one is set. Each save is audited and
announced (`WritingSaved`) with ids, version numbers, lengths and hashes, never the text.
"""

from __future__ import annotations

import difflib
import hashlib
import uuid
from dataclasses import dataclass
from typing import IO, Any

from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import WritingSaved
from licheng.guidance.auth import Reader
from licheng.guidance.models import Writing, WritingKind, WritingVersion
from licheng.guidance.parameters import service as parameters
from licheng.guidance.writings import repository
from licheng.guidance.writings.schemas import KIND_TITLES, DiffHunk
from licheng.kit.changes import record_change
from licheng.kit.db import release_connection
from licheng.kit.errors import Conflict, NotFound
from licheng.kit.pagination import PageParams
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

MAX_FILE_BYTES = 4 * MIB
PDF_ONLY = UploadPolicy(max_bytes={FileKind.PDF: MAX_FILE_BYTES})


@dataclass(frozen=True)
class VersionPdf:
    """The PDF a version carries."""

    key: str
    sha256: str
    size: int
    name: str

    @classmethod
    def of(cls, version: WritingVersion | None) -> VersionPdf | None:
        """The file of a stored version, if it has one."""
        if version is None or version.file_key is None:
            return None
        return cls(key=version.file_key, sha256=version.file_sha256 or "",
                   size=version.file_size or 0, name=version.file_name or "file.pdf")  # fmt: skip


def not_found() -> NotFound:
    """The answer for a writing the caller may not see, or that does not exist: never data."""
    return NotFound("找不到此自傳或學習計畫", code="writing_not_found")


def version_not_found() -> NotFound:
    """The answer for a version the caller may not see, or that does not exist."""
    return NotFound("找不到此版本", code="writing_version_not_found")


def _version_conflict(kind: WritingKind, current: int | None) -> Conflict:
    return Conflict(
        f"此{KIND_TITLES[kind]}已在其他地方儲存了新版本，請重新整理後再試",
        code="version_conflict",
        detail={"current_version": current},
    )


def clean_text(text: str, max_chars: int) -> str:
    """The text to store (trimmed); 422 naming `text` when empty or too long."""
    cleaned = text.strip()
    problem = None
    if not cleaned:
        problem = ("text_required", "內容為必填")
    elif len(cleaned) > max_chars:
        problem = ("text_too_long", f"內容最多 {max_chars} 字（目前 {len(cleaned)} 字）")
    if problem is not None:
        code, message = problem
        raise RequestValidationError(
            [{"type": code, "loc": ("body", "text"), "msg": message, "input": None}]
        )
    return cleaned


def _fingerprint(writing: Writing, pdf: VersionPdf | None) -> dict[str, Any]:
    """What the audit log keeps of a version: never the text itself."""
    return {
        "kind": writing.kind.value,
        "version": writing.version,
        "length": len(writing.text),
        "text_sha256": hashlib.sha256(writing.text.encode()).hexdigest(),
        "file_sha256": pdf.sha256 if pdf else None,
        "file_size": pdf.size if pdf else None,
    }


async def current_version(session: AsyncSession, writing: Writing) -> WritingVersion | None:
    """The writing's current version row."""
    return await repository.get_version(session, writing.school_code, writing.id, writing.version)


async def _open_for_saving(
    session: AsyncSession,
    *,
    school_code: str,
    student_id: uuid.UUID,
    kind: WritingKind,
    expected_version: int | None,
) -> tuple[int, Writing | None]:
    """The length limit and the writing, once the window is open (409) and `If-Match` holds
    (0 before the first save; a stale one is 409 with the current version)."""
    rules = await parameters.get(session, school_code)
    parameters.check_writing_window(rules)
    writing = await repository.get_writing(session, school_code, student_id, kind)
    current = writing.version if writing else 0
    if expected_version is not None and expected_version != current:
        raise _version_conflict(kind, current)
    return rules.max_chars, writing


async def save_text(
    session: AsyncSession,
    *,
    school_code: str,
    student_id: uuid.UUID,
    kind: WritingKind,
    text: str,
    expected_version: int | None,
) -> Writing:
    """A new version with this text (keeping the current PDF); the same text is a no-op."""
    max_chars, writing = await _open_for_saving(
        session, school_code=school_code, student_id=student_id, kind=kind,
        expected_version=expected_version,
    )  # fmt: skip
    cleaned = clean_text(text, max_chars)
    if writing is not None and writing.text == cleaned:
        return writing  # nothing changes: no version, no event
    pdf = VersionPdf.of(await current_version(session, writing)) if writing else None
    return await _new_version(
        session, school_code=school_code, student_id=student_id, kind=kind, writing=writing,
        writing_id=writing.id if writing else uuid.uuid4(), text=cleaned, pdf=pdf, previous=pdf,
    )  # fmt: skip


async def save_file(
    session: AsyncSession,
    *,
    storage: ObjectStorage,
    bucket: str,
    school_code: str,
    student_id: uuid.UUID,
    kind: WritingKind,
    filename: str,
    upload: IO[bytes],
    expected_version: int | None,
) -> Writing:
    """A new version with the current text and this PDF (≤ 4 MB, checked by content; nothing
    reaches the bucket unless accepted); the PDF the current version already has is a no-op.

    No database connection is held while the PDF is checked and put to S3; the window and the
    version are checked again after the put, in the transaction that writes."""
    _, writing = await _open_for_saving(
        session, school_code=school_code, student_id=student_id, kind=kind,
        expected_version=expected_version,
    )  # fmt: skip
    writing_id = writing.id if writing else uuid.uuid4()
    current = VersionPdf.of(await current_version(session, writing)) if writing else None
    await release_connection(session)
    received = await inspect_spooled(
        upload, policy=PDF_ONLY, claimed=FileKind.from_filename(filename)
    )
    if writing is not None and current is not None and current.sha256 == received.sha256:
        return writing
    key_for = KeyFor(school_code=school_code, owner_id=student_id, record_id=writing_id)
    stored = await storage.put(received, bucket=bucket, key_for=key_for)
    await _open_for_saving(
        session, school_code=school_code, student_id=student_id, kind=kind,
        expected_version=writing.version if writing else 0,
    )  # fmt: skip
    pdf = VersionPdf(key=stored.key, sha256=stored.sha256, size=stored.size,
                     name=safe_filename(filename, stored.kind))  # fmt: skip
    return await _new_version(
        session, school_code=school_code, student_id=student_id, kind=kind, writing=writing,
        writing_id=writing_id, text=writing.text if writing else "", pdf=pdf, previous=current,
    )  # fmt: skip


async def _new_version(
    session: AsyncSession,
    *,
    school_code: str,
    student_id: uuid.UUID,
    kind: WritingKind,
    writing: Writing | None,
    writing_id: uuid.UUID,
    text: str,
    pdf: VersionPdf | None,
    previous: VersionPdf | None,
) -> Writing:
    """Move the current text (conditional UPDATE), then append the version, audit, announce."""
    before = _fingerprint(writing, previous) if writing else None
    now = utcnow()
    if writing is None:
        writing = Writing(id=writing_id, school_code=school_code, student_id=student_id,
                          kind=kind, text=text, updated_at=now)  # fmt: skip
        session.add(writing)
    else:
        writing.text = text
        writing.updated_at = now
    try:
        await session.flush()  # a lost race (same version, or two first saves) is a 409
    except (StaleDataError, IntegrityError) as exc:
        raise _version_conflict(kind, None) from exc
    session.add(
        WritingVersion(
            writing_id=writing.id, number=writing.version, school_code=school_code, text=text,
            file_key=pdf.key if pdf else None, file_sha256=pdf.sha256 if pdf else None,
            file_size=pdf.size if pdf else None, file_name=pdf.name if pdf else None,
            saved_by=student_id, saved_at=now,
        )
    )  # fmt: skip
    await session.flush()
    record_change(
        session,
        school_code=school_code,
        actor_id=student_id,
        entity="writing",
        entity_id=writing.id,
        event=WritingSaved(
            writing_id=writing.id, student_id=student_id, kind=kind.value, version=writing.version
        ),
        before=before,
        after=_fingerprint(writing, pdf),
    )
    return writing


def sees_history(reader: Reader, student_id: uuid.UUID) -> bool:
    """Every version: the student themself and the admin; 導師 and counselors see the current."""
    return reader.admin or (reader.student and reader.person_id == student_id)


async def readable(
    session: AsyncSession, reader: Reader, student_id: uuid.UUID, kind: WritingKind
) -> Writing:
    """The student's writing if the caller may read it; 404 otherwise (or when unwritten)."""
    if not await reader.reads_student(session, student_id):
        raise not_found()
    writing = await repository.get_writing(session, reader.school_code, student_id, kind)
    if writing is None:
        raise not_found()
    return writing


async def readable_by_id(session: AsyncSession, reader: Reader, writing_id: uuid.UUID) -> Writing:
    """A writing by id, if the caller may read it; 404 otherwise."""
    writing = await repository.writing_by_id(session, reader.school_code, writing_id)
    if writing is None or not await reader.reads_student(session, writing.student_id):
        raise not_found()
    return writing


async def version_of(
    session: AsyncSession, reader: Reader, writing: Writing, number: int
) -> WritingVersion:
    """One version: any for those who see the history, the current one for other readers."""
    if number != writing.version and not sees_history(reader, writing.student_id):
        raise version_not_found()
    version = await repository.get_version(session, writing.school_code, writing.id, number)
    if version is None:
        raise version_not_found()
    return version


async def versions(
    session: AsyncSession, reader: Reader, writing: Writing, paging: PageParams
) -> tuple[list[WritingVersion], int]:
    """A page of the versions, newest first (only the current one for 導師 and counselors)."""
    only = None if sees_history(reader, writing.student_id) else writing.version
    return await repository.versions_page(
        session, writing.school_code, writing.id, paging, only=only
    )


async def compare(
    session: AsyncSession, reader: Reader, writing: Writing, number: int
) -> tuple[WritingVersion, WritingVersion | None, list[DiffHunk]]:
    """A version, the one before it and their line diff (for those who see the history)."""
    if not sees_history(reader, writing.student_id):
        raise version_not_found()
    version = await version_of(session, reader, writing, number)
    previous = (
        await repository.get_version(session, writing.school_code, writing.id, number - 1)
        if number > 1
        else None
    )
    return version, previous, line_diff(previous.text if previous else "", version.text)


def line_diff(old: str, new: str) -> list[DiffHunk]:
    """The line-by-line difference of two texts, as hunks for a side-by-side view."""
    a, b = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return [
        DiffHunk(op=op, old=a[i1:i2], new=b[j1:j2]) for op, i1, i2, j1, j2 in matcher.get_opcodes()
    ]
