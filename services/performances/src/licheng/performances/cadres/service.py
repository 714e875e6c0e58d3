"""校內幹部 records (名冊 24): the school registers them from a file or its 校務行政系統.

A record needs no proof and never counts toward the yearly selection limit; students only read
theirs. Both write paths validate everything first (all or nothing), refuse a term whose
名冊 24 is locked, then upsert on the natural key (school, student, 學年, 學期, 單位名稱,
擔任職務): an unchanged record writes nothing (no audit row, no event); a changed level or date
updates it. Every change is audited and announced (`CadreRecorded` / `CadreRemoved`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import CadreRecorded, CadreRemoved, CadreSnapshot
from licheng.contracts.rosters import RosterCode
from licheng.kit import roster
from licheng.kit.changes import record_change
from licheng.kit.errors import InvalidRows, NotFound
from licheng.kit.permissions import Grant
from licheng.kit.roster import local_numbers
from licheng.kit.tabular import in_worker
from licheng.kit.timeutil import utcnow
from licheng.performances.auth import reads_school_wide
from licheng.performances.cadres import repository
from licheng.performances.cadres.parsing import (
    CadreEntry,
    parse_cadre_file,
    parse_cadre_records,
    read_cadre_table,
)
from licheng.performances.cadres.schemas import CadreImportSummary
from licheng.performances.locks.service import ensure_unlocked
from licheng.performances.models import Cadre, PersonKind

SOURCE_IMPORT = "import"
SOURCE_API = "api"


def snapshot(cadre: Cadre) -> dict[str, Any]:
    """What the audit log keeps of a record (the student by id only)."""
    return {
        "student_id": str(cadre.student_id),
        "academic_year": cadre.academic_year,
        "semester": cadre.semester,
        "unit_name": cadre.unit_name,
        "role_title": cadre.role_title,
        "level": cadre.level,
        "start_date": cadre.start_date.isoformat(),
        "end_date": cadre.end_date.isoformat() if cadre.end_date else None,
        "source": cadre.source,
    }


def _event(kind: type[CadreSnapshot], cadre: Cadre) -> CadreSnapshot:
    return kind(
        cadre_id=cadre.id,
        student_id=cadre.student_id,
        academic_year=cadre.academic_year,
        semester=cadre.semester,
        unit_name=cadre.unit_name,
        role_title=cadre.role_title,
        level=cadre.level,
        start_date=cadre.start_date.isoformat(),
        end_date=cadre.end_date.isoformat() if cadre.end_date else None,
    )


async def import_cadres(
    session: AsyncSession,
    *,
    school_code: str,
    data: bytes,
    filename: str,
    actor_id: uuid.UUID | None,
) -> CadreImportSummary:
    """Upsert the records of a 校內幹部 xlsx or CSV file, all or nothing."""
    students = await local_numbers(session, school_code, PersonKind.STUDENT)
    table = await in_worker(read_cadre_table, data, filename)
    parsed = await in_worker(parse_cadre_file, table, known_student_nos=set(students))
    parsed.raise_for_errors(what="校內幹部資料")
    return await _upsert(session, school_code=school_code, entries=parsed.rows,
                         students=students, source=SOURCE_IMPORT, actor_id=actor_id)  # fmt: skip


async def sync_cadres(
    session: AsyncSession,
    *,
    school_code: str,
    records: Sequence[Mapping[str, Any]],
    actor_id: uuid.UUID | None,
    client_id: str | None,
) -> CadreImportSummary:
    """Upsert the records a 校務行政系統 sent, all or nothing (problems by index and field)."""
    students = await local_numbers(session, school_code, PersonKind.STUDENT)
    entries, problems = parse_cadre_records(list(records), known_student_nos=set(students))
    if problems:
        raise InvalidRows(
            f"校內幹部資料有 {len(problems)} 個問題，未寫入任何資料",
            code="invalid_records",
            detail=[
                {"index": p.index, "field": p.field, "code": p.code, "message": p.message}
                for p in problems
            ],
        )
    return await _upsert(session, school_code=school_code, entries=entries, students=students,
                         source=SOURCE_API, actor_id=actor_id, client_id=client_id)  # fmt: skip


async def _upsert(
    session: AsyncSession,
    *,
    school_code: str,
    entries: Sequence[CadreEntry],
    students: Mapping[str, uuid.UUID],
    source: str,
    actor_id: uuid.UUID | None,
    client_id: str | None = None,
) -> CadreImportSummary:
    terms = sorted({(e.academic_year, e.semester) for e in entries})
    for year, semester in terms:
        await ensure_unlocked(session, school_code, RosterCode.CADRES, year, semester)
    stored = await repository.cadres_of_terms(session, school_code, terms)
    created = updated = unchanged = 0
    for entry in entries:
        student_id = students[entry.student_no]
        key = (student_id, entry.academic_year, entry.semester, entry.unit_name, entry.role_title)
        wanted = (entry.level, entry.start_date, entry.end_date)
        cadre = stored.get(key)
        before: dict[str, Any] | None = None
        if cadre is None:
            cadre = Cadre(
                school_code=school_code, student_id=student_id,
                academic_year=entry.academic_year, semester=entry.semester,
                unit_name=entry.unit_name, role_title=entry.role_title, level=entry.level,
                start_date=entry.start_date, end_date=entry.end_date, source=source,
            )  # fmt: skip
            session.add(cadre)
            stored[key] = cadre
            created += 1
        elif (cadre.level, cadre.start_date, cadre.end_date) != wanted:
            before = snapshot(cadre)
            cadre.level, cadre.start_date, cadre.end_date = wanted
            cadre.source, cadre.updated_at = source, utcnow()
            updated += 1
        else:
            unchanged += 1
            continue
        after = snapshot(cadre)
        if client_id is not None:
            after["client"] = client_id
        record_change(session, school_code=school_code, actor_id=actor_id, entity="cadre",
                      entity_id=cadre.id, event=_event(CadreRecorded, cadre), before=before,
                      after=after)  # fmt: skip
    if created or updated:
        await session.flush()
    return CadreImportSummary(rows=len(entries), created=created, updated=updated,
                              unchanged=unchanged)  # fmt: skip


async def delete_cadre(
    session: AsyncSession, *, school_code: str, cadre_id: uuid.UUID, actor_id: uuid.UUID | None
) -> None:
    """Remove a record of an unlocked term; audited and announced."""
    cadre = await repository.get_cadre(session, school_code, cadre_id)
    if cadre is None:
        raise NotFound("找不到此校內幹部紀錄", code="cadre_not_found")
    await ensure_unlocked(session, school_code, RosterCode.CADRES, cadre.academic_year,
                          cadre.semester)  # fmt: skip
    record_change(session, school_code=school_code, actor_id=actor_id, entity="cadre",
                  entity_id=cadre.id, event=_event(CadreRemoved, cadre),
                  before=snapshot(cadre))  # fmt: skip
    await session.delete(cadre)
    await session.flush()


async def visible_classes(
    session: AsyncSession, grant: Grant, class_code: str | None
) -> list[str] | None:
    """The class filter: staff see what they ask for; a 導師 only their own classes."""
    return await roster.visible_classes(
        session, grant, school_wide=reads_school_wide(grant), class_code=class_code
    )
