"""Reading 校內幹部 files and sync bodies: the pilot template, dates, levels, every problem."""

from __future__ import annotations

from datetime import date

import pytest

from licheng.kit.tabular import read_table
from licheng.performances.cadres.parsing import (
    CADRE_COLUMNS,
    parse_cadre_file,
    parse_cadre_records,
    template_xlsx,
)
from licheng.testing.workbooks import xlsx_bytes

HEADER = ("學年", "學期", "學號", "單位名稱", "開始日期", "結束日期", "擔任職務", "幹部等級")
SAMPLE = ("104", "1", "104590000", "熱舞社", "1040907", "1070907", "人員", "3")
KNOWN = {"104590000", "110001"}


def _csv(rows: list[tuple[str, ...]], encoding: str = "utf-8") -> bytes:
    return "\n".join(",".join(row) for row in [HEADER, *rows]).encode(encoding)


@pytest.mark.parametrize("fmt", ["cp950", "utf-8", "utf-8-sig", "xlsx", "xlsx-date-cells"])
def test_the_pilot_sample_row_reads_in_every_format(fmt: str) -> None:
    if fmt == "xlsx":
        cells: tuple[object, ...] = (104, 1, 104590000, "熱舞社", 1040907, 1070907, "人員", 3)
        data, name = xlsx_bytes(HEADER, [cells]), "c.xlsx"
    elif fmt == "xlsx-date-cells":
        cells = (104, 1, "104590000", "熱舞社", date(2015, 9, 7), date(2018, 9, 7), "人員", "3")
        data, name = xlsx_bytes(HEADER, [cells]), "c.xlsx"
    else:
        data, name = _csv([SAMPLE], fmt), "幹部.csv"
    result = parse_cadre_file(read_table(data, name), known_student_nos=KNOWN)
    assert result.ok, result.errors
    (entry,) = result.rows
    assert (entry.academic_year, entry.semester, entry.student_no) == (104, 1, "104590000")
    assert (entry.unit_name, entry.role_title, entry.level) == ("熱舞社", "人員", 3)
    assert (entry.start_date, entry.end_date) == (date(2015, 9, 7), date(2018, 9, 7))


def test_roc_and_iso_dates_and_level_words() -> None:
    forms = [("104/09/07", "1"), ("2015-09-07", "班級幹部"), ("1040907", "社團"),
             ("104.9.7", "校級")]  # fmt: skip
    rows = [("104", "1", "110001", f"單位{i}", start, "", "班長", level)
            for i, (start, level) in enumerate(forms)]  # fmt: skip
    result = parse_cadre_file(read_table(_csv(rows), "c.csv"), known_student_nos=KNOWN)
    assert result.ok, result.errors
    assert {e.start_date for e in result.rows} == {date(2015, 9, 7)}
    assert [e.level for e in result.rows] == [1, 2, 3, 1]
    assert all(e.end_date is None for e in result.rows)


def test_every_problem_is_listed_by_row_and_column() -> None:
    rows = [
        ("104", "1", "110001", "熱舞社", "1040907", "1070907", "人員", "4"),  # row 2
        ("104", "1", "110001", "熱舞社", "1040907", "1070907", "社長", "0"),  # row 3
        ("104", "3", "999999", "熱舞社", "1040931", "1030907", "人員", "3"),  # row 4
        ("104", "1", "110001", "", "", "1030907", "", ""),  # row 5
        ("104", "1", "104590000", "熱舞社", "1050101", "1040101", "人員", "3"),  # row 6
        ("99", "1", "104590000", "熱舞社", "1040907", "", "人員", "3"),  # row 7
        ("104", "1", "104590000", "熱舞社", "2015-09-07", "", "人員", "2"),  # row 8
        ("104", "1", "104590000", "熱舞社", "2015-09-07", "", "人員", "2"),  # row 9
    ]
    result = parse_cadre_file(read_table(_csv(rows), "c.csv"), known_student_nos=KNOWN)
    found = {(e.row, e.column, e.code) for e in result.errors}
    assert found == {
        (2, "幹部等級", "level_invalid"),
        (3, "幹部等級", "level_invalid"),
        (4, "學期", "semester_invalid"),
        (4, "學號", "unknown_student"),
        (4, "開始日期", "date_invalid"),
        (5, "單位名稱", "required"),
        (5, "開始日期", "required"),
        (5, "擔任職務", "required"),
        (5, "幹部等級", "required"),
        (6, "結束日期", "date_range_invalid"),
        (7, "學年", "academic_year_invalid"),
        (9, "擔任職務", "duplicate_record"),
    }
    level = next(e for e in result.errors if e.code == "level_invalid")
    assert "幹部等級只能為 1～3" in level.message
    assert all("999999" not in e.message for e in result.errors)
    assert [e.position for e in result.rows] == [8]


def test_a_missing_column_is_named_once() -> None:
    data = "學年,學期,學號,單位名稱,開始日期,擔任職務\n104,1,110001,熱舞社,1040907,人員\n"
    result = parse_cadre_file(read_table(data.encode(), "c.csv"), known_student_nos=KNOWN)
    assert [(e.row, e.column, e.code) for e in result.errors] == [(1, "幹部等級", "missing_column")]
    assert result.rows == []


def test_sync_records_report_index_and_field() -> None:
    records = [
        {"academic_year": 115, "semester": 1, "student_no": "110001", "unit_name": "學生會",
         "role_title": "會長", "level": 1, "start_date": "2026-09-01", "end_date": "1160131"},
        {"academic_year": 115, "semester": 1, "student_no": 110001, "unit_name": "學生會",
         "role_title": "會長", "level": 1, "start_date": "2026-09-01"},
        {"academic_year": 115, "semester": 2, "student_no": "110001", "unit_name": "學生會",
         "role_title": "會長", "level": 4, "start_date": "2026-02-30"},
        {"academic_year": 115, "semester": 1},
    ]  # fmt: skip
    entries, problems = parse_cadre_records(records, known_student_nos=KNOWN)
    assert [e.end_date for e in entries] == [date(2027, 1, 31)]
    found = {(p.index, p.field, p.code) for p in problems}
    assert found == {
        (1, "role_title", "duplicate_record"),
        (2, "level", "level_invalid"),
        (2, "start_date", "date_invalid"),
        (3, "student_no", "required"),
        (3, "unit_name", "required"),
        (3, "role_title", "required"),
        (3, "level", "required"),
        (3, "start_date", "required"),
    }


def test_the_template_has_the_pilot_columns_and_imports_nothing() -> None:
    table = read_table(template_xlsx(), "template.xlsx")
    assert table.header == HEADER == tuple(c.name for c in CADRE_COLUMNS)
    result = parse_cadre_file(table, known_student_nos=KNOWN)
    assert result.ok
    assert result.rows == []
