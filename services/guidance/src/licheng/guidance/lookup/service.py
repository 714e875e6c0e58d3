"""Who the lookup answers, and which classes it reaches for them.

Counselors (課程諮詢紀錄) and staff who read portfolios school-wide see the whole school; a 導師
only their own classes; anyone else (a student) is refused.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.guidance.auth import Looker
from licheng.kit import roster


async def visible_classes(
    session: AsyncSession, *, looker: Looker, class_code: str | None
) -> list[str] | None:
    """The class filter: school-wide lookers get what they ask (None = every class), a 導師 only
    their own classes."""
    wanted = [class_code] if class_code else None
    if looker.school_wide:
        return wanted
    mine = await roster.homeroom_classes(session, looker.school_code, looker.person_id)
    return [c for c in (wanted or mine) if c in mine]
