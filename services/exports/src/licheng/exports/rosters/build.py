"""Building a 名冊 package: the central-database workbook plus its attachments and `SHA.txt`.

The build walks the read model page by page of students (`rosters.repository`), asks identity
for that page's 身分證號 and 出生日期 (kept in memory for the page only), writes the rows with
openpyxl in write-only mode, then streams every attachment from object storage into the ZIP.
The package is deterministic: the same read model gives byte-identical output (fixed entry
times from the submission's lock time, stable ordering), so a job redone after a crash yields
the same content hash. Rows of students identity has no identifiers for are left out and
counted (`skipped_rows`); the 預檢 lists them beforehand.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from licheng.contracts.rosters import RosterCode
from licheng.exports.models import CadreRow, OutcomeRow, PerformanceRow
from licheng.exports.rosters import repository
from licheng.exports.rosters.archive import RosterArchiveWriter
from licheng.exports.rosters.layout import (
    CADRE_SHEET,
    CATEGORY_SHEET_BY_KEY,
    IDENTIFIER_COLUMNS,
    OUTCOME_SHEET,
    CertificateInfo,
    Identifiers,
    attachment_names,
    cadre_row,
    outcome_row,
    performance_row,
)
from licheng.exports.rosters.repository import RosterRecord
from licheng.exports.rosters.workbook import RosterWorkbookWriter
from licheng.kit.db import SessionFactory
from licheng.kit.storage import ObjectStorage

Progress = Callable[[int, int], Awaitable[None]]
CHUNK = 256 * 1024


class KnownIdentifiers(Protocol):
    """A student's identifiers as identity answers them (ISO birth date)."""

    @property
    def national_id(self) -> str: ...
    @property
    def birth_date(self) -> str: ...


class IdentifierSource(Protocol):
    """Where a job gets 身分證號 and 出生日期 (identity's internal endpoint)."""

    async def fetch(
        self, *, school_code: str, student_ids: Sequence[uuid.UUID], purpose: str
    ) -> Mapping[uuid.UUID, KnownIdentifiers]: ...


@dataclass(frozen=True)
class RosterTerm:
    """Which 名冊 of which school and term."""

    school_code: str
    roster_code: RosterCode
    academic_year: int
    semester: int

    @property
    def file_stem(self) -> str:
        """`{學校代碼}_{學年度}_{學期}_{名冊別}`, the pilot's naming without the time stamp."""
        return f"{self.school_code}_{self.academic_year}_{self.semester}_{self.roster_code.value}"


@dataclass(frozen=True)
class SubmittedRow:
    """A row the package holds, without its 身分證號 and 出生日期: kept per student so the
    收訖明細 can be compared with what was submitted."""

    student_id: uuid.UUID
    sheet: str
    cells: list[Any]


@dataclass(frozen=True)
class BuiltRoster:
    """A finished package on local disk, and its rows per student (identifiers left out)."""

    path: Path
    content_hash: str
    counts: dict[str, Any]
    rows: list[SubmittedRow] = field(default_factory=list, repr=False)


def to_identifiers(known: KnownIdentifiers) -> Identifiers:
    """The layout's form of what identity answered."""
    return Identifiers(
        national_id=known.national_id, birth_date=date.fromisoformat(known.birth_date)
    )


def record_id(record: RosterRecord) -> uuid.UUID:
    """The id of a read-model record, whatever its kind."""
    if isinstance(record, OutcomeRow):
        return record.outcome_id
    if isinstance(record, PerformanceRow):
        return record.performance_id
    return record.cadre_id


def sheet_of(record: RosterRecord) -> str:
    """The sheet a record's row goes to."""
    if isinstance(record, OutcomeRow):
        return OUTCOME_SHEET.name
    if isinstance(record, CadreRow):
        return CADRE_SHEET.name
    return CATEGORY_SHEET_BY_KEY[record.category].sheet


def row_of(
    record: RosterRecord,
    who: Identifiers,
    certificates: Mapping[str, CertificateInfo],
) -> tuple[str, list[Any]]:
    """The (sheet, cells) a record becomes."""
    if isinstance(record, CadreRow):
        return cadre_row(record, who=who)
    names = attachment_names(record_id(record), record.files)
    if isinstance(record, OutcomeRow):
        return outcome_row(record, who=who, attachments=names)
    return performance_row(record, who=who, attachments=names, certificates=certificates)


def _object_chunks(storage: ObjectStorage, bucket: str, key: str) -> Iterator[bytes]:
    response = storage.client.get_object(bucket, key)
    try:
        yield from response.stream(CHUNK)
    finally:
        response.close()
        response.release_conn()


async def build_roster(
    session_factory: SessionFactory,
    *,
    term: RosterTerm,
    storage: ObjectStorage,
    uploads_bucket: str,
    identifiers: IdentifierSource,
    fixed_time: datetime,
    purpose: str,
    progress: Progress,
    work_dir: Path | None = None,
) -> BuiltRoster:
    """Build the package into a temporary file (the caller uploads and removes it)."""
    async with session_factory() as session:
        student_ids = await repository.ordered_student_ids(
            session,
            roster_code=term.roster_code,
            school_code=term.school_code,
            academic_year=term.academic_year,
            semester=term.semester,
        )
        rows_total, files_total = await repository.count_records(
            session,
            roster_code=term.roster_code,
            school_code=term.school_code,
            academic_year=term.academic_year,
            semester=term.semester,
        )
        certificates = await repository.certificate_catalog(session, school_code=term.school_code)
    total = rows_total + files_total
    done = 0
    await progress(done, total)
    folder = Path(tempfile.mkdtemp(prefix="licheng-roster-", dir=work_dir))
    workbook_path = folder / f"{term.file_stem}.xlsx"
    package_path = folder / f"{term.file_stem}.zip"
    attachments: list[tuple[str, str]] = []  # (zip name, object key) of the rows written
    students = skipped = 0
    submitted: list[SubmittedRow] = []
    writer = RosterWorkbookWriter(
        workbook_path,
        roster_code=term.roster_code,
        fixed_time=fixed_time,
        school_code=term.school_code,
        academic_year=term.academic_year,
        semester=term.semester,
    )
    try:
        async for page in repository.student_pages(
            session_factory,
            roster_code=term.roster_code,
            school_code=term.school_code,
            academic_year=term.academic_year,
            semester=term.semester,
            student_ids=student_ids,
        ):
            known = await identifiers.fetch(
                school_code=term.school_code,
                student_ids=[s.student_id for s in page],
                purpose=purpose,
            )
            rows: list[tuple[str, list[Any]]] = []
            for entry in page:
                found = known.get(entry.student_id)
                if found is None:
                    skipped += len(entry.records)
                    continue
                who = to_identifiers(found)
                students += 1
                for record in entry.records:
                    sheet, cells = row_of(record, who, certificates)
                    rows.append((sheet, cells))
                    submitted.append(
                        SubmittedRow(entry.student_id, sheet, cells[len(IDENTIFIER_COLUMNS) :])
                    )
                    if not isinstance(record, CadreRow):
                        names = attachment_names(record_id(record), record.files)
                        attachments.extend(
                            (name, str(ref["key"]))
                            for name, ref in zip(names, record.files, strict=True)
                        )
            await asyncio.to_thread(_append_all, writer, rows)
            done += len(rows) + sum(len(e.records) for e in page if e.student_id not in known)
            await progress(done, total)
        await asyncio.to_thread(writer.close)
        archive = RosterArchiveWriter(package_path, fixed_time=fixed_time)
        try:
            await asyncio.to_thread(archive.add_file, workbook_path.name, workbook_path)
            for name, key in attachments:
                await asyncio.to_thread(
                    archive.add_stream, name, _object_chunks(storage, uploads_bucket, key)
                )
                done += 1
                await progress(done, total)
            content_hash = await asyncio.to_thread(archive.close)
        except BaseException:
            archive.abandon()
            raise
    except BaseException:
        writer.abandon()
        _remove_folder(folder)
        raise
    workbook_path.unlink(missing_ok=True)
    counts = {
        "students": students,
        "rows": rows_total - skipped,
        "files": len(attachments),
        "skipped_rows": skipped,
        "sheets": writer.counts,
    }
    return BuiltRoster(path=package_path, content_hash=content_hash, counts=counts, rows=submitted)


def _append_all(writer: RosterWorkbookWriter, rows: list[tuple[str, list[Any]]]) -> None:
    for sheet, cells in rows:
        writer.append(sheet, cells)


def _remove_folder(folder: Path) -> None:
    for path in folder.glob("*"):
        path.unlink(missing_ok=True)
    folder.rmdir()


def remove_built(built: BuiltRoster) -> None:
    """Remove a package's temporary folder once it is uploaded."""
    _remove_folder(built.path.parent)
