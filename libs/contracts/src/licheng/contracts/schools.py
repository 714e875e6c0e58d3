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


GRADES: dict[str, int] = {
    **{str(grade): grade for grade in (1, 2, 3)},
    **{str(year): year - 9 for year in (10, 11, 12)},
    **{numeral: grade for grade, numeral in enumerate("一二三", start=1)},
    **{f"高{numeral}": grade for grade, numeral in enumerate("一二三", start=1)},
}
"""年級 as school files write it: 1–3, 一/二/三 (also 高一…), or the 10–12 year count."""
GRADE_HINT = "1、2、3（也可寫 一、二、三 或 10、11、12）"


def parse_grade(text: str) -> int | None:
    """The senior-high grade 1–3 of a normalised text (an optional 年級 suffix), or None."""
    return GRADES.get(text.removesuffix("年級"))
