"""The classes file: 班級代碼, 年級, and optionally 班級名稱 and 導師 (the teacher's 教師編號)."""

from __future__ import annotations

from collections.abc import Set

from licheng.contracts.schools import GRADE_HINT, parse_grade
from licheng.identity.imports.model import ClassRow
from licheng.kit.tabular import Column, FirstSeen, ParseResult, Sheet, Table

CLASS_CODE = Column("班級代碼", max_length=32)
GRADE = Column("年級")
CLASS_NAME = Column("班級名稱", required=False)
HOMEROOM = Column("導師", required=False, aliases=("導師編號", "導師教師編號"), max_length=32)
CLASS_COLUMNS = (CLASS_CODE, GRADE, CLASS_NAME, HOMEROOM)


def parse_classes(table: Table, *, known_staff_nos: Set[str] | None) -> ParseResult[ClassRow]:
    """Validate a classes file; with `known_staff_nos`, every 導師 must be one of them."""
    sheet = Sheet(table, CLASS_COLUMNS)
    codes = FirstSeen()
    rows: list[ClassRow] = []
    for reader in sheet.rows():
        class_code = reader.text(CLASS_CODE, identifier=True)
        grade = reader.coded(GRADE, parse_grade, code="grade_invalid", hint=GRADE_HINT)
        name = reader.text(CLASS_NAME)
        homeroom = reader.text(HOMEROOM, identifier=True)
        if class_code is not None and (first := codes.earlier(class_code, reader.row)):
            reader.error(CLASS_CODE, "duplicate_class_code", f"班級代碼與第 {first} 列重複")
        if homeroom is not None and known_staff_nos is not None and homeroom not in known_staff_nos:
            message = f"找不到教師編號「{homeroom}」的教職員，請先匯入教職員資料"
            reader.error(HOMEROOM, "unknown_staff", message)
        if reader.failed or class_code is None or grade is None:
            continue
        rows.append(
            ClassRow(
                class_code=class_code,
                grade=grade,
                name=name,
                homeroom_staff_no=homeroom,
                row=reader.row,
            )
        )
    return sheet.result(rows)
