"""Birth dates as identity accepts them; date parsing itself is the kit's (`licheng.kit.dates`)."""

from __future__ import annotations

from datetime import date

from licheng.kit.dates import parse_date as parse_date
from licheng.kit.dates import taipei_today as taipei_today

EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def plausible_birth_date(value: date, today: date) -> bool:
    """Whether a birth date lies between 1900-01-01 and today."""
    return EARLIEST_BIRTH_DATE <= value <= today
