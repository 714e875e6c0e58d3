"""What the API shows of outcomes: batched views and short-lived download links."""

from __future__ import annotations

import uuid

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.course_outcomes.courses import repository as courses
from licheng.course_outcomes.models import FileSlot, Outcome, OutcomeFile
from licheng.course_outcomes.outcomes import repository
from licheng.course_outcomes.outcomes.schemas import DownloadLink, OutcomePublic
from licheng.course_outcomes.outcomes.service import several_in_slot
from licheng.course_outcomes.roster import repository as roster
from licheng.kit.errors import NotFound
from licheng.kit.settings import ServiceSettings
from licheng.kit.storage import ObjectStorage

LINK_SECONDS = 300


async def public_views(
    session: AsyncSession, school_code: str, outcome_ids: list[uuid.UUID]
) -> list[OutcomePublic]:
    """The API view of each outcome, in the given order, with four queries in all."""
    outcomes = await repository.outcomes_by_ids(session, school_code, outcome_ids)
    by_id = {o.id: o for o in outcomes}
    return await _views_of(session, school_code, [by_id[i] for i in outcome_ids if i in by_id])


async def public_view(session: AsyncSession, outcome: Outcome) -> OutcomePublic:
    """The API view of one outcome as loaded (three queries: files, section, people)."""
    return (await _views_of(session, outcome.school_code, [outcome]))[0]


async def _views_of(
    session: AsyncSession, school_code: str, outcomes: list[Outcome]
) -> list[OutcomePublic]:
    ids = [o.id for o in outcomes]
    files = await repository.files_of(session, school_code, ids)
    sections = await courses.sections_by_ids(session, school_code, {o.section_id for o in outcomes})
    people = await roster.people_by_ids(
        session,
        school_code,
        {p for o in outcomes for p in (o.student_id, o.certifier_id, o.decided_by)},
    )
    return [OutcomePublic.of(o, files[o.id], sections.get(o.section_id), people) for o in outcomes]


async def download_link(
    request: Request, session: AsyncSession, outcome: Outcome, slot: FileSlot
) -> DownloadLink:
    """A five-minute presigned link to the outcome's file in `slot`; 409 when it holds several."""
    stored = await repository.files_in_slot(session, outcome.school_code, outcome.id, slot)
    if not stored:
        raise NotFound("此成果沒有這個檔案", code="file_not_found")
    if len(stored) > 1:
        raise several_in_slot(slot, stored)
    return await _link(request, stored[0])


async def download_link_by_id(
    request: Request, session: AsyncSession, outcome: Outcome, file_id: uuid.UUID
) -> DownloadLink:
    """A five-minute presigned link to one file of the outcome."""
    stored = await repository.file_by_id(session, outcome.school_code, outcome.id, file_id)
    if stored is None:
        raise NotFound("此成果沒有這個檔案", code="file_not_found")
    return await _link(request, stored)


async def _link(request: Request, stored: OutcomeFile) -> DownloadLink:
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    url = await storage.presigned_get(bucket=settings.uploads_bucket, key=stored.object_key)
    return DownloadLink(url=url, expires_in=LINK_SECONDS)
