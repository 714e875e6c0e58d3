"""Import templates: each reads back as an empty file of the right columns, and parses filled in."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from licheng.identity.imports import (
    ClassRow,
    ImportKind,
    ParseResult,
    StaffRow,
    StudentRow,
    Table,
    parse_classes,
    parse_staff,
    parse_students,
    read_table,
    template_columns,
    template_xlsx,
)


@pytest.mark.parametrize("kind", list(ImportKind))
def test_templates_round_trip(
    kind: ImportKind, tmp_path: Path, sheets: Any, national_ids: Any
) -> None:
    path = tmp_path / f"{kind}.xlsx"
    path.write_bytes(template_xlsx(kind))
    table = read_table(path.read_bytes(), path.name)
    assert table.header == template_columns(kind)
    assert table.rows == ()
    assert _parse(kind, table, sheets).errors == []
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames[1] == "說明"

    filled = {
        ImportKind.STUDENTS: [*sheets.student("0110001", national_ids.A), "s@example.edu.tw"],
        ImportKind.STAFF: ["T001", "林老師", "t@example.edu.tw"],
        ImportKind.CLASSES: ["101", "1", "普一甲", "T001"],
    }[kind]
    workbook.worksheets[0].append(filled)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = _parse(kind, read_table(buffer.getvalue(), path.name), sheets)
    assert result.errors == []
    assert len(result.rows) == 1


def _parse(
    kind: ImportKind, table: Table, sheets: Any
) -> ParseResult[StudentRow] | ParseResult[StaffRow] | ParseResult[ClassRow]:
    if kind is ImportKind.STUDENTS:
        return parse_students(table, known_class_codes=None, today=sheets.TODAY)
    if kind is ImportKind.STAFF:
        return parse_staff(table)
    return parse_classes(table, known_staff_nos=None)
