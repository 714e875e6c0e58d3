"""Every query of the batch import, each scoped to a school."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.performances.models import Performance

_CHUNK = 500


async def existing_import_keys(
    session: AsyncSession, school_code: str, keys: Iterable[str]
) -> set[str]:
    """Which of `keys` the school's records already carry (imported before)."""
    wanted = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        stmt = select(Performance.import_key).where(
            Performance.school_code == school_code,
            col(Performance.import_key).in_(wanted[start : start + _CHUNK]),
        )
        found.update(key for key in (await session.exec(stmt)).all() if key is not None)
    return found
