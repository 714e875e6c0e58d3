"""What the API shows of records: batched views and short-lived download links."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.kit import roster
from licheng.kit.errors import NotFound
from licheng.kit.settings import ServiceSettings
from licheng.kit.storage import ObjectStorage
from licheng.performances.categories import CATEGORIES
from licheng.performances.models import Category, Performance
from licheng.performances.records import repository
from licheng.performances.records.schemas import DownloadLink, PerformancePublic

LINK_SECONDS = 300


async def public_views(
    session: AsyncSession, school_code: str, records: Sequence[Performance]
) -> list[PerformancePublic]:
    """The API view of each record, in the given order, with three more queries in all."""
    ids = [r.id for r in records]
    files = await repository.files_of(session, school_code, ids)
    certificates = await repository.certificates_by_codes(
        session, school_code, (_certificate_code(r) for r in records)
    )
    people = await roster.people_by_ids(session, school_code, {r.student_id for r in records})
    return [
        PerformancePublic.of(
            r,
            title=CATEGORIES[r.category].title,
            files=files[r.id],
            certificate=certificates.get(_certificate_code(r) or ""),
            student=people.get(r.student_id),
        )
        for r in records
    ]


def _certificate_code(record: Performance) -> str | None:
    if record.category != Category.CERTIFICATE:
        return None
    code = record.certificate_code or record.fields.get("certificate_code")
    return str(code) if code else None


async def public_view(session: AsyncSession, record: Performance) -> PerformancePublic:
    """The API view of one record."""
    return (await public_views(session, record.school_code, [record]))[0]


async def download_link(
    request: Request, session: AsyncSession, record: Performance, file_id: uuid.UUID
) -> DownloadLink:
    """A five-minute presigned link to one proof file of the record."""
    stored = await repository.file_by_id(session, record.school_code, record.id, file_id)
    if stored is None:
        raise NotFound("此多元表現沒有這個檔案", code="file_not_found")
    settings: ServiceSettings = request.app.state.settings
    storage: ObjectStorage = request.app.state.storage
    url = await storage.presigned_get(bucket=settings.uploads_bucket, key=stored.object_key)
    return DownloadLink(url=url, expires_in=LINK_SECONDS)
