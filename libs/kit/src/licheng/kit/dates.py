"""Dates as school systems write them: AD (ISO or slashed) and ROC (民國) forms, or date cells.

ROC year + 1911 = AD year (民國 97 = 2008). A year of four digits is AD; one to three digits is
ROC. Compact forms without separators: eight digits are AD `yyyyMMdd`; seven are ROC `yyyMMdd`
(`0970501`, `1050101`); six are ROC `yyMMdd` (`970501`, what a number cell keeps of `0970501`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from licheng.kit.timeutil import TAIPEI

ROC_YEAR_OFFSET = 1911

_SEPARATED = re.compile(r"([0-9]{1,4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})")
_ROC_WORDS = re.compile(r"(?:民國)?([0-9]{1,3})年([0-9]{1,2})月([0-9]{1,2})日")
_COMPACT = re.compile(r"[0-9]{6,8}")
_TIME_SUFFIX = re.compile(r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)$")


def taipei_today() -> date:
    """Today's date in Taiwan."""
    return datetime.now(TAIPEI).date()


def roc_to_ad_year(roc_year: int) -> int:
    """The AD year of a ROC (民國) year: 97 → 2008."""
    return roc_year + ROC_YEAR_OFFSET


def _make(year: int, month: int, day: int, *, roc: bool) -> date | None:
    if roc:
        if year < 1:
            return None
        year = roc_to_ad_year(year)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(value: str | date) -> date | None:
    """A date from a date cell or text in an AD or ROC form; None when it is not a real date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _TIME_SUFFIX.sub("", unicodedata.normalize("NFKC", value).strip())
    text = "".join(text.split())
    if match := _SEPARATED.fullmatch(text):
        year, month, day = match.groups()
        return _make(int(year), int(month), int(day), roc=len(year) < 4)
    if match := _ROC_WORDS.fullmatch(text):
        year, month, day = match.groups()
        return _make(int(year), int(month), int(day), roc=True)
    if _COMPACT.fullmatch(text):
        year_digits = len(text) - 4
        year, month, day = int(text[:year_digits]), int(text[-4:-2]), int(text[-2:])
        return _make(year, month, day, roc=year_digits < 4)
    return None
