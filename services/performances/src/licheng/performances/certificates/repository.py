"""Every query on the 檢定證照 catalog, each from a base query scoped to a school."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from licheng.kit.pagination import PageParams, paginate
from licheng.performances.models import Certificate

_CHUNK = 500


def _certificates(school_code: str) -> SelectOfScalar[Certificate]:
    return select(Certificate).where(Certificate.school_code == school_code)


async def get_certificate(session: AsyncSession, school_code: str, code: str) -> Certificate | None:
    """One item of the school's catalog, active or not."""
    stmt = _certificates(school_code).where(Certificate.code == code)
    return (await session.exec(stmt)).first()


async def page_of_certificates(
    session: AsyncSession,
    school_code: str,
    *,
    q: str | None,
    active: bool | None,
    paging: PageParams,
) -> tuple[list[Certificate], int]:
    """A page of the catalog by code, optionally searched (code or name contains `q`, case
    blind) and filtered by `active`, and the total."""
    stmt = _certificates(school_code)
    if q:
        needle = q.lower()
        stmt = stmt.where(
            or_(
                sa.func.lower(col(Certificate.code)).contains(needle, autoescape=True),
                sa.func.lower(col(Certificate.name)).contains(needle, autoescape=True),
            )
        )
    if active is not None:
        stmt = stmt.where(Certificate.active == active)
    return await paginate(session, stmt.order_by(col(Certificate.code)), paging)


async def catalog(session: AsyncSession, school_code: str) -> dict[str, Certificate]:
    """The school's whole catalog by code."""
    return {c.code: c for c in (await session.exec(_certificates(school_code))).all()}


async def active_codes(
    session: AsyncSession, school_code: str, codes: Iterable[str] | None = None
) -> set[str]:
    """The codes of the school's active items (only those among `codes`, when given)."""
    stmt = select(Certificate.code).where(
        Certificate.school_code == school_code, col(Certificate.active).is_(True)
    )
    if codes is None:
        return set((await session.exec(stmt)).all())
    wanted = sorted(set(codes))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = stmt.where(col(Certificate.code).in_(wanted[start : start + _CHUNK]))
        found.update((await session.exec(chunk)).all())
    return found


async def active_catalog(session: AsyncSession, school_code: str) -> list[Certificate]:
    """The school's active items by code."""
    stmt = (
        _certificates(school_code)
        .where(col(Certificate.active).is_(True))
        .order_by(col(Certificate.code))
    )
    return list((await session.exec(stmt)).all())
