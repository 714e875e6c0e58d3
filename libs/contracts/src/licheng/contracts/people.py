"""What every service means by a person's standing at school."""

from __future__ import annotations

from enum import StrEnum


class EnrolmentStatus(StrEnum):
    """在籍狀態, as the school's 校務行政系統 writes it and identity's events carry it."""

    ENROLLED = "在籍"
    SUSPENDED = "休學"
    TRANSFERRED_OUT = "轉出"
    GRADUATED = "畢業"


# Students who still belong to the school's current work (status lists, sign-in).
ACTIVE_STATUSES = frozenset({EnrolmentStatus.ENROLLED, EnrolmentStatus.SUSPENDED})
