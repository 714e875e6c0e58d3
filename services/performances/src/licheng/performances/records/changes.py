"""A record's change, recorded once: its audit row and its event with the whole record."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import PerformanceFileRef, PerformanceSnapshot
from licheng.kit.changes import record_change
from licheng.performances.models import Performance, PerformanceFile


async def files_of(session: AsyncSession, performance: Performance) -> list[PerformanceFile]:
    """The record's proof files, oldest first."""
    stmt = (
        select(PerformanceFile)
        .where(
            PerformanceFile.school_code == performance.school_code,
            PerformanceFile.performance_id == performance.id,
        )
        .order_by(col(PerformanceFile.uploaded_at), col(PerformanceFile.id))
    )
    return list((await session.exec(stmt)).all())


def snapshot(performance: Performance) -> dict[str, Any]:
    """What the audit log keeps of a record (no files, no personal identifiers)."""
    return {
        "category": performance.category.value,
        "origin": performance.origin.value,
        "fields": dict(performance.fields),
        "brief": performance.brief,
        "video_url": performance.video_url,
        "selected": performance.selected,
    }


async def record_performance_change(
    session: AsyncSession,
    performance: Performance,
    *,
    event: type[PerformanceSnapshot],
    actor_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    files: Sequence[PerformanceFile] | None = None,
) -> None:
    """Audit a record's change and publish its event with the record as it is now.

    `files` spares the query when the caller knows them (a record just created has none).
    """
    if files is None:
        files = await files_of(session, performance)
    payload = event(
        performance_id=performance.id,
        student_id=performance.student_id,
        academic_year=performance.academic_year,
        category=performance.category.value,
        origin=performance.origin.value,
        fields=dict(performance.fields),
        brief=performance.brief,
        video_url=performance.video_url,
        selected=performance.selected,
        files=[
            PerformanceFileRef(file_id=f.id, key=f.object_key, sha256=f.sha256, kind=f.kind,
                               size=f.size)
            for f in files
        ],
    )  # fmt: skip
    record_change(
        session,
        school_code=performance.school_code,
        actor_id=actor_id,
        entity="performance",
        entity_id=performance.id,
        event=payload,
        before=before,
        after=snapshot(performance),
    )
