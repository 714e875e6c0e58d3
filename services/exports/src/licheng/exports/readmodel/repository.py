"""Writes of the read model: each event's snapshot replaces the row (replays change nothing)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import (
    CadreSnapshot,
    CertificateChanged,
    OutcomeSnapshot,
    PerformanceSnapshot,
)
from licheng.exports.models import CadreRow, CertificateRow, OutcomeRow, PerformanceRow


async def upsert_outcome(
    session: AsyncSession, *, school_code: str, data: OutcomeSnapshot, at: datetime
) -> None:
    """Keep the outcome as announced."""
    row = await session.get(OutcomeRow, data.outcome_id) or OutcomeRow(
        outcome_id=data.outcome_id,
        school_code=school_code,
        student_id=data.student_id,
        academic_year=data.academic_year,
        semester=data.semester,
        status=data.status,
        outcome_type=data.outcome_type,
        brief=data.brief,
    )
    row.school_code = school_code
    row.student_id = data.student_id
    row.academic_year, row.semester = data.academic_year, data.semester
    row.status, row.outcome_type = data.status, data.outcome_type
    row.brief, row.video_url = data.brief, data.video_url
    row.certifier_id, row.selected = data.certifier_id, data.selected
    row.course_code, row.subject_name = data.course_code, data.subject_name
    row.credits, row.grade = data.credits, data.grade
    row.files = [f.model_dump(mode="json") for f in data.files]
    row.updated_at = at
    session.add(row)


async def delete_outcome(session: AsyncSession, *, outcome_id: uuid.UUID) -> None:
    """Forget a deleted outcome."""
    row = await session.get(OutcomeRow, outcome_id)
    if row is not None:
        await session.delete(row)


async def upsert_performance(
    session: AsyncSession, *, school_code: str, data: PerformanceSnapshot, at: datetime
) -> None:
    """Keep the 多元表現 record as announced."""
    row = await session.get(PerformanceRow, data.performance_id) or PerformanceRow(
        performance_id=data.performance_id,
        school_code=school_code,
        student_id=data.student_id,
        academic_year=data.academic_year,
        category=data.category,
        origin=data.origin,
        brief=data.brief,
    )
    row.school_code = school_code
    row.student_id, row.academic_year = data.student_id, data.academic_year
    row.category, row.origin = data.category, data.origin
    row.fields = dict(data.fields)
    row.brief, row.video_url, row.selected = data.brief, data.video_url, data.selected
    row.files = [f.model_dump(mode="json") for f in data.files]
    row.updated_at = at
    session.add(row)


async def delete_performance(session: AsyncSession, *, performance_id: uuid.UUID) -> None:
    """Forget a deleted record."""
    row = await session.get(PerformanceRow, performance_id)
    if row is not None:
        await session.delete(row)


async def upsert_cadre(
    session: AsyncSession, *, school_code: str, data: CadreSnapshot, at: datetime
) -> None:
    """Keep the 校內幹部 record as announced."""
    row = await session.get(CadreRow, data.cadre_id) or CadreRow(
        cadre_id=data.cadre_id,
        school_code=school_code,
        student_id=data.student_id,
        academic_year=data.academic_year,
        semester=data.semester,
        unit_name=data.unit_name,
        role_title=data.role_title,
        level=data.level,
        start_date=data.start_date,
    )
    row.school_code, row.student_id = school_code, data.student_id
    row.academic_year, row.semester = data.academic_year, data.semester
    row.unit_name, row.role_title, row.level = data.unit_name, data.role_title, data.level
    row.start_date, row.end_date = data.start_date, data.end_date
    row.updated_at = at
    session.add(row)


async def delete_cadre(session: AsyncSession, *, cadre_id: uuid.UUID) -> None:
    """Forget a removed 校內幹部 record."""
    row = await session.get(CadreRow, cadre_id)
    if row is not None:
        await session.delete(row)


async def upsert_certificate(
    session: AsyncSession, *, school_code: str, data: CertificateChanged
) -> None:
    """Keep the catalog item as announced."""
    row = await session.get(CertificateRow, (school_code, data.code)) or CertificateRow(
        school_code=school_code, code=data.code, name=data.name
    )
    row.name, row.category, row.issuer = data.name, data.category, data.issuer
    row.domestic, row.active = data.domestic, data.active
    session.add(row)
