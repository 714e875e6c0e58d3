"""School codes and terms, as every service spells them."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

SCHOOL_CODE_PATTERN = re.compile(r"^\d{6}$")


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
