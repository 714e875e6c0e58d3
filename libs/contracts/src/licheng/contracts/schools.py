"""School codes and terms, as every service spells them."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

# ASCII digits only: `\d` would let full-width ０９９９０１ make a look-alike school.
SCHOOL_CODE_PATTERN = re.compile(r"^[0-9]{6}$")


def _check_school_code(value: str) -> str:
    if not SCHOOL_CODE_PATTERN.fullmatch(value):
        raise ValueError("school code must be 6 digits (教育部學校代碼)")
    return value


SchoolCode = Annotated[str, AfterValidator(_check_school_code)]


def is_school_code(value: str) -> bool:
    """True when `value` is a 6-digit MOE school code."""
    return bool(SCHOOL_CODE_PATTERN.fullmatch(value))


class Term(BaseModel):
    """A ROC academic year (學年度, e.g. 115 = Aug 2026 – Jul 2027) and its semester."""

    academic_year: int = Field(ge=100, le=200)
    semester: int = Field(ge=1, le=2)


def term_of(day: date) -> Term:
    """The term a day falls in: 學年度 N runs 1 Aug (1911+N) – 31 Jul; semester 2 from 1 Feb.

    Schools set their own first and last days; these month boundaries are the assumption used
    where no school calendar is known (the demo, defaults).
    """
    if day.month >= 8:
        return Term(academic_year=day.year - 1911, semester=1)
    if day.month == 1:
        return Term(academic_year=day.year - 1912, semester=1)
    return Term(academic_year=day.year - 1912, semester=2)
