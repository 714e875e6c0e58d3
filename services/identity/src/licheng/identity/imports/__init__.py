"""Parsing and validating the students, staff and classes files a school imports.

Pure and synchronous: bytes in (`read_table`), typed rows and row errors out (`parse_*`).
An import is all or nothing, so callers write the rows only when `ParseResult.ok`, and otherwise
raise `result.raise_for_errors()` (422 `invalid_rows` listing every problem).
"""

from licheng.contracts.people import EnrolmentStatus
from licheng.identity.imports.classes import parse_classes
from licheng.identity.imports.dates import parse_date
from licheng.identity.imports.model import (
    ClassRow,
    ImportKind,
    StaffRow,
    StudentRow,
)
from licheng.identity.imports.national_id import is_valid_national_id
from licheng.identity.imports.staff import parse_staff
from licheng.identity.imports.students import parse_students
from licheng.identity.imports.templates import template_columns, template_xlsx
from licheng.kit.tabular import ParseResult, RowError, Table, TableRow, decode_csv, read_table

__all__ = [
    "ClassRow",
    "EnrolmentStatus",
    "ImportKind",
    "ParseResult",
    "RowError",
    "StaffRow",
    "StudentRow",
    "Table",
    "TableRow",
    "decode_csv",
    "is_valid_national_id",
    "parse_classes",
    "parse_date",
    "parse_staff",
    "parse_students",
    "read_table",
    "template_columns",
    "template_xlsx",
]
