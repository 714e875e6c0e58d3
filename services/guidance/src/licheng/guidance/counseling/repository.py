"""Every query on 課程諮詢紀錄, their participants and attachments. Each starts from a base
query scoped to one school, so an unscoped query cannot be written by accident."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from licheng.guidance.models import (
    CounselingAttachment,
    CounselingParticipant,
    CounselingRecord,
    KnownPerson,
)
from licheng.kit import roster
from licheng.kit.pagination import PageParams, paginate


@dataclass(frozen=True)
class Sight:
    """Which records a reader sees: all, those they wrote, those of their classes' students."""

    everything: bool
    counselor_id: uuid.UUID | None
    classes: frozenset[str]


@dataclass(frozen=True)
class CounselingQuery:
    """The list's filters."""

    student_id: uuid.UUID | None = None
    class_code: str | None = None
    held_from: date | None = None
    held_until: date | None = None
    topic: str | None = None
    counselor_id: uuid.UUID | None = None  # `mine`, or the download's own records


def _records(school_code: str) -> SelectOfScalar[CounselingRecord]:
    return select(CounselingRecord).where(CounselingRecord.school_code == school_code)


def _participants(school_code: str) -> SelectOfScalar[CounselingParticipant]:
    return select(CounselingParticipant).where(CounselingParticipant.school_code == school_code)


def _attachments(school_code: str) -> SelectOfScalar[CounselingAttachment]:
    return select(CounselingAttachment).where(CounselingAttachment.school_code == school_code)


async def get_record(
    session: AsyncSession, school_code: str, record_id: uuid.UUID
) -> CounselingRecord | None:
    """One record of the school."""
    stmt = _records(school_code).where(CounselingRecord.id == record_id)
    return (await session.exec(stmt)).first()


def _participant_where(school_code: str, *conditions: Any) -> Any:
    """EXISTS a participant of the (outer) record meeting the conditions."""
    return sa.exists().where(
        col(CounselingParticipant.record_id) == col(CounselingRecord.id),
        col(CounselingParticipant.school_code) == school_code,
        *conditions,
    )


def _in_classes(school_code: str, classes: Iterable[str]) -> Any:
    """EXISTS a participant who is (now) a student of one of the classes."""
    return _participant_where(
        school_code,
        col(KnownPerson.id) == col(CounselingParticipant.student_id),
        col(KnownPerson.school_code) == school_code,
        col(KnownPerson.class_code).in_(list(classes)),
    )


def _visible(school_code: str, sight: Sight) -> Any:
    if sight.everything:
        return sa.true()
    allowed: list[Any] = []
    if sight.counselor_id is not None:
        allowed.append(CounselingRecord.counselor_id == sight.counselor_id)
    if sight.classes:
        allowed.append(_in_classes(school_code, sight.classes))
    return sa.or_(*allowed) if allowed else sa.false()


def _filtered(school_code: str, sight: Sight, query: CounselingQuery) -> Any:
    stmt = _records(school_code).where(_visible(school_code, sight))
    if query.counselor_id is not None:
        stmt = stmt.where(CounselingRecord.counselor_id == query.counselor_id)
    if query.student_id is not None:
        stmt = stmt.where(
            _participant_where(school_code, CounselingParticipant.student_id == query.student_id)
        )
    if query.class_code is not None:
        stmt = stmt.where(
            sa.or_(
                col(CounselingRecord.class_code) == query.class_code,
                _in_classes(school_code, [query.class_code]),
            )
        )
    if query.held_from is not None:
        stmt = stmt.where(col(CounselingRecord.held_on) >= query.held_from)
    if query.held_until is not None:
        stmt = stmt.where(col(CounselingRecord.held_on) <= query.held_until)
    if query.topic:
        stmt = stmt.where(
            sa.func.lower(col(CounselingRecord.topic)).contains(
                query.topic.lower(), autoescape=True
            )
        )
    return stmt.order_by(
        col(CounselingRecord.held_on).desc(),
        col(CounselingRecord.created_at).desc(),
        col(CounselingRecord.id),
    )


async def list_records(
    session: AsyncSession,
    school_code: str,
    sight: Sight,
    query: CounselingQuery,
    paging: PageParams,
) -> tuple[list[CounselingRecord], int]:
    """One page of the records the reader sees that match the filters (newest first) and how
    many match in all."""
    return await paginate(session, _filtered(school_code, sight, query), paging)


async def fetch_records(
    session: AsyncSession,
    school_code: str,
    sight: Sight,
    query: CounselingQuery,
    *,
    offset: int,
    limit: int,
) -> list[CounselingRecord]:
    """Rows `offset`… of the same list (for downloads, a page at a time)."""
    stmt = _filtered(school_code, sight, query).offset(offset).limit(limit)
    return list((await session.exec(stmt)).all())


async def participants_of(
    session: AsyncSession, school_code: str, record_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The student ids of each record."""
    ids = list(record_ids)
    found: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    if ids:
        stmt = _participants(school_code).where(col(CounselingParticipant.record_id).in_(ids))
        for row in (await session.exec(stmt)).all():
            found[row.record_id].append(row.student_id)
    return found


async def replace_participants(
    session: AsyncSession, record: CounselingRecord, student_ids: Iterable[uuid.UUID]
) -> None:
    """Make the record's participants exactly these students."""
    wanted = list(dict.fromkeys(student_ids))
    current = (await session.exec(
        _participants(record.school_code).where(CounselingParticipant.record_id == record.id)
    )).all()  # fmt: skip
    for row in current:
        if row.student_id not in wanted:
            await session.delete(row)
    held = {row.student_id for row in current}
    session.add_all(
        CounselingParticipant(record_id=record.id, student_id=s, school_code=record.school_code)
        for s in wanted
        if s not in held
    )
    await session.flush()


async def attachments_of(
    session: AsyncSession, school_code: str, record_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, CounselingAttachment]:
    """The attachment of each record that has one."""
    ids = list(record_ids)
    if not ids:
        return {}
    stmt = _attachments(school_code).where(col(CounselingAttachment.record_id).in_(ids))
    return {a.record_id: a for a in (await session.exec(stmt)).all()}


async def get_attachment(
    session: AsyncSession, school_code: str, record_id: uuid.UUID
) -> CounselingAttachment | None:
    """The record's attachment, if any."""
    stmt = _attachments(school_code).where(CounselingAttachment.record_id == record_id)
    return (await session.exec(stmt)).first()


async def enrolled_by_ids(
    session: AsyncSession, school_code: str, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, KnownPerson]:
    """The school's enrolled students with these ids, by id."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    stmt = select(KnownPerson).where(
        *roster.enrolled_students(school_code), col(KnownPerson.id).in_(wanted)
    )
    return {p.id: p for p in (await session.exec(stmt)).all()}


async def enrolled_in_class(
    session: AsyncSession, school_code: str, class_code: str
) -> list[KnownPerson]:
    """The class's enrolled students now, by 座號."""
    stmt = (
        select(KnownPerson)
        .where(*roster.enrolled_students(school_code, [class_code]))
        .order_by(col(KnownPerson.seat_no), col(KnownPerson.local_no))
    )
    return list((await session.exec(stmt)).all())


async def lock_record(session: AsyncSession, record: CounselingRecord) -> bool:
    """Lock the record's row (PostgreSQL `FOR UPDATE`) and reload it, so concurrent attachment
    changes run one after the other; False if it is gone."""
    stmt = (
        _records(record.school_code)
        .where(CounselingRecord.id == record.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(stmt)).first() is not None
