"""Every query on 多元表現 records, their proof files and the certificate catalog they name.
Each starts from a base query scoped to one school, so an unscoped query cannot be written by
accident."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from licheng.kit.pagination import PageParams, paginate
from licheng.performances.models import Category, Certificate, Performance, PerformanceFile


def _records(school_code: str) -> SelectOfScalar[Performance]:
    return select(Performance).where(Performance.school_code == school_code)


def _files(school_code: str) -> SelectOfScalar[PerformanceFile]:
    return select(PerformanceFile).where(PerformanceFile.school_code == school_code)


def _certificates(school_code: str) -> SelectOfScalar[Certificate]:
    return select(Certificate).where(Certificate.school_code == school_code)


async def get_record(
    session: AsyncSession, school_code: str, record_id: uuid.UUID
) -> Performance | None:
    """One record of the school."""
    return (await session.exec(_records(school_code).where(Performance.id == record_id))).first()


async def records_by_ids(
    session: AsyncSession, school_code: str, ids: Iterable[uuid.UUID]
) -> list[Performance]:
    """The school's records with these ids (others are not found)."""
    wanted = list(ids)
    if not wanted:
        return []
    stmt = _records(school_code).where(col(Performance.id).in_(wanted))
    return list((await session.exec(stmt)).all())


async def student_records(
    session: AsyncSession,
    school_code: str,
    student_id: uuid.UUID,
    *,
    academic_year: int | None = None,
    category: Category | None = None,
    selected: bool | None = None,
    paging: PageParams | None = None,
) -> tuple[list[Performance], int]:
    """The student's records (of a year, a category, selected or not), oldest first, and how
    many there are in all."""
    stmt = _records(school_code).where(Performance.student_id == student_id)
    if academic_year is not None:
        stmt = stmt.where(Performance.academic_year == academic_year)
    if category is not None:
        stmt = stmt.where(Performance.category == category)
    if selected is not None:
        stmt = stmt.where(Performance.selected == selected)
    ordered = stmt.order_by(
        col(Performance.academic_year), col(Performance.created_at), col(Performance.id)
    )
    if paging is not None:
        return await paginate(session, ordered, paging)
    rows = list((await session.exec(ordered)).all())
    return rows, len(rows)


async def files_of(
    session: AsyncSession, school_code: str, record_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[PerformanceFile]]:
    """Proof files per record, oldest first."""
    ids = list(record_ids)
    found: dict[uuid.UUID, list[PerformanceFile]] = {i: [] for i in ids}
    if ids:
        stmt = _files(school_code).where(col(PerformanceFile.performance_id).in_(ids))
        ordered = stmt.order_by(col(PerformanceFile.uploaded_at), col(PerformanceFile.id))
        for file in (await session.exec(ordered)).all():
            found[file.performance_id].append(file)
    return found


async def file_by_id(
    session: AsyncSession, school_code: str, record_id: uuid.UUID, file_id: uuid.UUID
) -> PerformanceFile | None:
    """One file of the record (another record's file is not found)."""
    stmt = _files(school_code).where(
        PerformanceFile.performance_id == record_id, PerformanceFile.id == file_id
    )
    return (await session.exec(stmt)).first()


async def count_files(session: AsyncSession, school_code: str, record_id: uuid.UUID) -> int:
    """How many proof files the record holds."""
    scoped = _files(school_code).where(PerformanceFile.performance_id == record_id)
    stmt = select(sa.func.count()).select_from(scoped.subquery())
    return int((await session.exec(stmt)).one())


async def lock_record(session: AsyncSession, record: Performance) -> bool:
    """Lock the record's row (PostgreSQL `FOR UPDATE`; SQLite's writes are serial anyway) and
    reload it, so concurrent changes to its files run one after the other; False if it is gone."""
    stmt = (
        _records(record.school_code)
        .where(Performance.id == record.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(stmt)).first() is not None


async def certificates_by_codes(
    session: AsyncSession, school_code: str, codes: Iterable[str | None]
) -> dict[str, Certificate]:
    """The school's catalog items with these codes, active or not, by code."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    stmt = _certificates(school_code).where(col(Certificate.code).in_(wanted))
    return {c.code: c for c in (await session.exec(stmt)).all()}


async def lock_student_year(
    session: AsyncSession, school_code: str, student_id: uuid.UUID, academic_year: int
) -> list[Performance]:
    """The student's records of a year, row-locked (PostgreSQL `FOR UPDATE`) and reloaded, so
    two selections of one student run one after the other and the second sees the first."""
    stmt = (
        _records(school_code)
        .where(Performance.student_id == student_id, Performance.academic_year == academic_year)
        .order_by(col(Performance.created_at), col(Performance.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.exec(stmt)).all())
