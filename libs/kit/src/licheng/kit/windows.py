"""Time windows a school opens (upload, certify, fill, 勾選): inside, or a 409 naming them."""

from __future__ import annotations

from datetime import datetime

from licheng.kit.errors import WindowClosed
from licheng.kit.timeutil import TAIPEI, utcnow


def _format(moment: datetime | None) -> str:
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M") if moment else "未設定"


def check_window(
    start: datetime | None, end: datetime | None, *, what: str, now: datetime | None = None
) -> None:
    """WindowClosed (409) naming the window unless `now` lies inside it."""
    now = now or utcnow()
    if start is None or end is None or not start <= now < end:
        raise WindowClosed(
            f"目前不在{what}期間（{_format(start)} 至 {_format(end)}）",
            detail={
                "from": start.isoformat() if start else None,
                "until": end.isoformat() if end else None,
            },
        )
