"""Parsing and validating the 修課紀錄 (course enrolment record) file a school imports each term.

Pure and synchronous: bytes in (`read_course_table`), typed rows and row errors out
(`parse_course_records`). An import is all or nothing, so callers write the rows only when
`ParseResult.ok`, and otherwise call `result.raise_for_errors()` (422 `invalid_rows` listing
every problem). `sections_of` groups valid rows into course sections, each certified by its
授課教師.
"""

from licheng.course_outcomes.courses.parsing.codes import (
    DOMAIN_NAMES,
    domain_of,
    is_known_domain,
    normalise_course_code,
    validate_course_code,
)
from licheng.course_outcomes.courses.parsing.model import (
    RETAKE_METHODS,
    CourseRow,
    EnrolmentKind,
    SectionKey,
)
from licheng.course_outcomes.courses.parsing.records import (
    MAX_COURSE_ROWS,
    parse_course_records,
    read_course_table,
    sections_of,
)
from licheng.course_outcomes.courses.parsing.template import template_columns, template_xlsx
from licheng.kit.tabular import ParseResult, RowError, Table, TableRow, read_table

__all__ = [
    "DOMAIN_NAMES",
    "MAX_COURSE_ROWS",
    "RETAKE_METHODS",
    "CourseRow",
    "EnrolmentKind",
    "ParseResult",
    "RowError",
    "SectionKey",
    "Table",
    "TableRow",
    "domain_of",
    "is_known_domain",
    "normalise_course_code",
    "parse_course_records",
    "read_course_table",
    "read_table",
    "sections_of",
    "template_columns",
    "template_xlsx",
    "validate_course_code",
]
