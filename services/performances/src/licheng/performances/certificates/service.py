"""The 檢定證照 catalog (seed 4-6): the items students pick a 證照代碼 from.

Items are never deleted: a record may use an item, so "removing" one deactivates it (students
can no longer choose it; records already using it stay as they are). Every change writes an
audit row and a `CertificateChanged` event; a request that changes nothing writes neither.
An import is the whole catalog, all or nothing: items in the file are created or updated, items
of the catalog missing from the file are deactivated.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.events import CertificateChanged
from licheng.kit.changes import record_change
from licheng.kit.errors import BadRequest, Conflict, NotFound
from licheng.kit.pagination import Page, PageParams, page_of
from licheng.kit.tabular import in_worker
from licheng.kit.timeutil import utcnow
from licheng.performances.certificates import repository
from licheng.performances.certificates.parsing import (
    CatalogRow,
    normalise_code,
    parse_catalog,
    read_catalog_table,
)
from licheng.performances.certificates.schemas import (
    CatalogImportSummary,
    CertificateCreate,
    CertificatePatch,
    CertificatePublic,
)
from licheng.performances.models import Certificate

_FIELDS = ("name", "category", "issuer", "domestic", "active")


def _snapshot(certificate: Certificate) -> dict[str, Any]:
    return {"code": certificate.code, **{f: getattr(certificate, f) for f in _FIELDS}}


def _record(
    session: AsyncSession,
    certificate: Certificate,
    *,
    verb: str,
    before: dict[str, Any] | None,
    actor_id: uuid.UUID | None,
) -> None:
    record_change(
        session,
        school_code=certificate.school_code,
        actor_id=actor_id,
        entity="certificate",
        entity_id=certificate.code,
        event=CertificateChanged(
            code=certificate.code,
            name=certificate.name,
            category=certificate.category,
            issuer=certificate.issuer,
            domestic=certificate.domestic,
            active=certificate.active,
        ),
        action=f"certificate.{verb}",
        before=before,
        after=_snapshot(certificate),
    )


def _verb(before: dict[str, Any], certificate: Certificate) -> str:
    if before["active"] and not certificate.active:
        return "deactivated"
    return "updated"


async def list_certificates(
    session: AsyncSession,
    *,
    school_code: str,
    q: str | None,
    active: bool | None,
    paging: PageParams,
) -> Page[CertificatePublic]:
    """A page of the catalog, searched by code or name."""
    items, total = await repository.page_of_certificates(
        session, school_code, q=(q or "").strip() or None, active=active, paging=paging
    )
    return page_of([CertificatePublic.of(c) for c in items], total, paging)


async def get_certificate(session: AsyncSession, *, school_code: str, code: str) -> Certificate:
    """One item, active or not; 404 when the school has no such code."""
    certificate = await repository.get_certificate(session, school_code, normalise_code(code))
    if certificate is None:
        raise NotFound("找不到此證照代碼", code="certificate_not_found")
    return certificate


async def active_codes(
    session: AsyncSession, *, school_code: str, codes: Iterable[str] | None = None
) -> set[str]:
    """The normalised codes of active items (among `codes`, when given): what a record may use."""
    wanted = None if codes is None else {normalise_code(c) for c in codes}
    return await repository.active_codes(session, school_code, wanted)


async def create_certificate(
    session: AsyncSession,
    *,
    school_code: str,
    new: CertificateCreate,
    actor_id: uuid.UUID | None,
) -> Certificate:
    """Add an item; 409 `certificate_exists` when the code is taken (even by an inactive one)."""
    if await repository.get_certificate(session, school_code, new.code) is not None:
        raise Conflict(
            f"證照代碼「{new.code}」已存在；停用的項目可改為啟用", code="certificate_exists"
        )
    certificate = Certificate(school_code=school_code, **new.model_dump())
    session.add(certificate)
    await session.flush()  # a concurrent insert of the same code is a 409, never a 500
    _record(session, certificate, verb="created", before=None, actor_id=actor_id)
    return certificate


async def update_certificate(
    session: AsyncSession,
    *,
    school_code: str,
    code: str,
    patch: CertificatePatch,
    actor_id: uuid.UUID | None,
) -> Certificate:
    """Change an item's fields (active false deactivates it); nothing sent changed, nothing
    recorded."""
    certificate = await get_certificate(session, school_code=school_code, code=code)
    before = _snapshot(certificate)
    changes = {k: v for k, v in patch.model_dump(exclude_unset=True).items() if before[k] != v}
    if not changes:
        return certificate
    for field, value in changes.items():
        setattr(certificate, field, value)
    certificate.updated_at = utcnow()
    await session.flush()
    _record(session, certificate, verb=_verb(before, certificate), before=before,
            actor_id=actor_id)  # fmt: skip
    return certificate


def _wanted(row: CatalogRow) -> dict[str, Any]:
    return {"name": row.name, "category": row.category, "issuer": row.issuer,
            "domestic": row.domestic, "active": row.active}  # fmt: skip


async def import_catalog(
    session: AsyncSession,
    *,
    school_code: str,
    data: bytes,
    filename: str,
    actor_id: uuid.UUID | None,
) -> CatalogImportSummary:
    """Replace the catalog with the file's (all or nothing); absent items are deactivated."""
    table = await in_worker(read_catalog_table, data, filename)
    parsed = await in_worker(parse_catalog, table)
    parsed.raise_for_errors(what="檢定證照清單")
    if not parsed.rows:
        raise BadRequest(
            "檔案中沒有任何證照項目；匯入的是完整清單，空白的清單會停用所有項目，因此不予接受",
            code="catalog_empty",
        )
    current = await repository.catalog(session, school_code)
    counts = {"created": 0, "updated": 0, "deactivated": 0, "unchanged": 0}
    changed: list[tuple[Certificate, str, dict[str, Any] | None]] = []
    now = utcnow()
    for row in parsed.rows:
        wanted = _wanted(row)
        certificate = current.pop(row.code, None)
        if certificate is None:
            certificate = Certificate(school_code=school_code, code=row.code, **wanted)
            session.add(certificate)
            changed.append((certificate, "created", None))
            counts["created"] += 1
            continue
        before = _snapshot(certificate)
        if all(before[k] == v for k, v in wanted.items()):
            counts["unchanged"] += 1
            continue
        for field, value in wanted.items():
            setattr(certificate, field, value)
        certificate.updated_at = now
        verb = _verb(before, certificate)
        changed.append((certificate, verb, before))
        counts[verb] += 1
    for certificate in current.values():  # in the catalog, not in the file
        if certificate.active:
            before = _snapshot(certificate)
            certificate.active, certificate.updated_at = False, now
            changed.append((certificate, "deactivated", before))
            counts["deactivated"] += 1
    await session.flush()
    for certificate, verb, earlier in changed:
        _record(session, certificate, verb=verb, before=earlier, actor_id=actor_id)
    return CatalogImportSummary(**counts)
