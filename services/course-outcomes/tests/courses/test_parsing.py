"""修課紀錄 import files: reading xlsx/CSV (UTF-8 and Big5), 課程代碼 checks and row validation."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import openpyxl
import pytest

from licheng.course_outcomes.courses.parsing import (
    DOMAIN_NAMES,
    MAX_COURSE_ROWS,
    CourseRow,
    EnrolmentKind,
    ParseResult,
    RowError,
    SectionKey,
    domain_of,
    is_known_domain,
    normalise_course_code,
    parse_course_records,
    read_course_table,
    read_table,
    sections_of,
    template_columns,
    template_xlsx,
    validate_course_code,
)
from licheng.kit.errors import BadRequest, InvalidRows
from licheng.kit.tabular import MAX_ROWS

HEADER = [
    "學年度",
    "學期",
    "學號",
    "課程代碼",
    "科目名稱",
    "學分",
    "開課年級",
    "授課教師",
    "修課類別",
]
EXTRA = ["原修課學年度", "原修課學期", "重修方式"]
FULL_HEADER = [*HEADER, *EXTRA]

CODE_A = "108011302H11101A1010101"  # 國語文, docs/domain.md §5.2
CODE_B = "109041305H11101B1010101"
PREFIX = CODE_A[:19]  # everything before the 領域 code at positions 20–21
TERM = (114, 1)
STUDENTS = {"0110001", "0110002", "0110003"}
TEACHERS = {"T001", "T002"}


def course_code(domain: str, serial: int = 1) -> str:
    """A valid 課程代碼 with the given 領域 code."""
    return f"{PREFIX}{domain}{serial:02d}"


def record(**changes: str) -> list[str]:
    """A valid 學期課程 row (all twelve columns, as CSV text) with some cells changed."""
    row = {
        "學年度": "114",
        "學期": "1",
        "學號": "0110001",
        "課程代碼": CODE_A,
        "科目名稱": "國語文",
        "學分": "4",
        "開課年級": "1",
        "授課教師": "T001",
        "修課類別": "學期課程",
        "原修課學年度": "",
        "原修課學期": "",
        "重修方式": "",
    }
    row.update(changes)
    return [row[column] for column in FULL_HEADER]


def retake(**changes: str) -> list[str]:
    """A valid 重修 row of 114-1 for a course first taken in 113-2."""
    values = {
        "修課類別": "重修",
        "原修課學年度": "113",
        "原修課學期": "2",
        "重修方式": "隨班附讀",
        "學號": "0110002",
    }
    return record(**{**values, **changes})


def csv_bytes(rows: Sequence[Sequence[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]], title: str = "修課紀錄") -> bytes:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def parse_csv(
    rows: Sequence[Sequence[str]],
    *,
    header: Sequence[str] = FULL_HEADER,
    term: tuple[int, int] | None = TERM,
    known: bool = True,
) -> ParseResult[CourseRow]:
    table = read_course_table(csv_bytes([list(header), *rows]), "courses.csv")
    return parse_course_records(
        table,
        term=term,
        known_student_nos=STUDENTS if known else None,
        known_teacher_nos=TEACHERS if known else None,
    )


def problems(result: ParseResult[CourseRow]) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.code) for e in result.errors]


# --- 課程代碼 ----------------------------------------------------------------------------------


def test_the_reference_examples_are_valid_and_their_domain_is_at_positions_20_21() -> None:
    for code in (CODE_A, CODE_B):
        assert len(code) == 23
        assert validate_course_code(code) is None
        assert domain_of(code) == code[19:21] == "01"


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        (CODE_A[:-1], "course_code_length"),
        (CODE_A + "1", "course_code_length"),
        ("", "course_code_length"),
        (CODE_A[:10] + " " + CODE_A[11:], "course_code_characters"),
        (CODE_A[:10] + "-" + CODE_A[11:], "course_code_characters"),
        (CODE_A[:10] + "國" + CODE_A[11:], "course_code_characters"),
        (CODE_A[:22] + "ß", "course_code_characters"),  # not upper-cased to "SS"
        (course_code("0K"), "course_code_domain"),
        (course_code("10"), "course_code_domain"),
        (course_code("19"), "course_code_domain"),
        (course_code("95"), "course_code_domain"),
        (course_code("A0"), "course_code_domain"),
        (course_code("A7"), "course_code_domain"),
        (course_code("P1"), "course_code_domain"),
        (course_code("UG"), "course_code_domain"),
        (course_code("G0"), "course_code_domain"),
    ],
)
def test_bad_course_codes(code: str, problem: str) -> None:
    assert validate_course_code(code) == problem
    with pytest.raises(ValueError, match=problem):
        domain_of(code)


def test_every_domain_code_of_the_reference_table_is_known() -> None:
    named = [f"0{c}" for c in "0123456789ABCDEFGHIJRST"]
    named += [str(n) for n in (*range(11, 19), *range(91, 95))]
    assert sorted(DOMAIN_NAMES) == sorted(named)
    skills = [f"{letter}{digit}" for letter in "ABCDEFGHIJKLMNO" for digit in "123456"]
    skills += [f"U{c}" for c in "123456789ABCDEF"] + ["G1", "G2", "G3", "M7", "N7"]
    for domain in named + skills:
        assert is_known_domain(domain), domain
        assert validate_course_code(course_code(domain)) is None
        assert domain_of(course_code(domain)) == domain


def test_full_width_and_lower_case_codes_are_normalised() -> None:
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in CODE_A)  # ０-９, Ａ-Ｚ
    assert full_width != CODE_A
    for code in (full_width, CODE_A.lower(), f"\u3000{CODE_A.lower()} ", full_width.lower()):
        assert normalise_course_code(code) == CODE_A
        assert validate_course_code(code) is None
        assert domain_of(code) == "01"
    assert validate_course_code(course_code("0a")) is None
    assert domain_of(course_code("uf")) == "UF"


# --- reading files -----------------------------------------------------------------------------


def _big_rows(students: int, courses: int) -> tuple[list[list[object]], set[str], set[str]]:
    domains = ["01", "02", "03", "04", "05", "06", "07", "08", "0A", "0H", "A1", "UF"]
    codes = [course_code(domains[i % len(domains)], i) for i in range(courses)]
    names = ["國語文", "數學", "歷史", "物理", "音樂", "生涯規劃", "資訊科技", "體育",
             "專題", "日語", "數值控制", "美髮"]  # fmt: skip
    student_nos = [f"{1110000 + i:07d}" for i in range(students)]
    teacher_nos: set[str] = set()
    rows: list[list[object]] = [list[object](FULL_HEADER)]
    for s, student_no in enumerate(student_nos):
        for c, code in enumerate(codes):
            teacher = f"T{c:02d}{s % 4}"  # four sections of each course
            teacher_nos.add(teacher)
            rows.append(
                [114, 1, student_no, code, names[c % len(names)], 2 + c % 3, 1 + s % 3,
                 teacher, "學期課程", None, None, None]
            )  # fmt: skip
    return rows, set(student_nos), teacher_nos


def _as_text(rows: list[list[object]]) -> list[list[str]]:
    return [["" if cell is None else str(cell) for cell in row] for row in rows]


@pytest.mark.parametrize("fmt", ["xlsx", "utf-8", "cp950"])
def test_two_thousand_students_times_twelve_courses(fmt: str, tmp_path: Path) -> None:
    # Parse time is measured outside the suite (figures are never asserted in unit tests).
    rows, students, teachers = _big_rows(2000, 12)
    if fmt == "xlsx":
        path = tmp_path / "修課紀錄.xlsx"
        path.write_bytes(xlsx_bytes(rows))
    else:
        path = tmp_path / f"修課紀錄-{fmt}.csv"
        path.write_bytes(csv_bytes(_as_text(rows), fmt))

    table = read_course_table(path.read_bytes(), path.name)
    result = parse_course_records(
        table, term=TERM, known_student_nos=students, known_teacher_nos=teachers
    )

    assert result.errors == []
    assert len(result.rows) == 24_000
    first = result.rows[0]
    assert first == CourseRow(
        academic_year=114,
        semester=1,
        student_no="1110000",
        course_code=course_code("01", 0),
        subject_name="國語文",
        credits=2,
        grade=1,
        teacher_no="T000",
        kind=EnrolmentKind.TERM,
        original_academic_year=None,
        original_semester=None,
        retake_method=None,
        row=2,
    )
    sections = sections_of(result.rows)
    assert len(sections) == 12 * 4
    assert all(len(members) == 500 for members in sections.values())
    key = SectionKey(114, 1, course_code("01", 0), "T000")
    assert {row.teacher_no for row in sections[key]} == {"T000"}


def test_a_term_of_a_big_school_exceeds_the_roster_limit_but_not_the_course_limit() -> None:
    rows, _, _ = _big_rows(MAX_ROWS // 12 + 1, 12)
    data = csv_bytes(_as_text(rows))
    with pytest.raises(BadRequest) as raised:
        read_table(data, "courses.csv")  # identity's default limit
    assert raised.value.error_code == "too_many_rows"
    assert len(read_course_table(data, "courses.csv").rows) == len(rows) - 1
    assert len(rows) < MAX_COURSE_ROWS
    with pytest.raises(BadRequest) as raised:
        read_table(data, "courses.csv", max_rows=100)
    assert raised.value.error_code == "too_many_rows"


def test_big5_csv_with_subject_names() -> None:
    # 許功蓋 have 0x5C ("\\") as their second byte; 碁 is one of CP950's additions to Big5.
    names = ["國語文", "許功蓋專題", "圍碁", "公民與社會"]
    rows = [record(科目名稱=name, 課程代碼=course_code("01", i)) for i, name in enumerate(names)]
    data = csv_bytes([FULL_HEADER, *rows], "cp950")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    result = parse_course_records(read_course_table(data, "修課.csv"), term=TERM)
    assert result.errors == []
    assert [row.subject_name for row in result.rows] == names


def test_utf8_bom_csv_with_aliases_and_reordered_headers() -> None:
    header = ["\u3000修課學分", "科目代碼 ", "學號", "授課教師編號", "年級", "修課類別", "學期"]
    header += ["學年度", "課程名稱", "備註"]
    line = ["3", CODE_B, "0110001", "T002", "二", "學期課程", "第1學期", "114", "數學", "x"]
    data = csv_bytes([header, line], "utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    result = parse_course_records(read_course_table(data, "courses.csv"), term=TERM)
    assert result.errors == []
    (row,) = result.rows
    assert (row.credits, row.course_code, row.teacher_no, row.grade) == (3, CODE_B, "T002", 2)


def test_xlsx_number_cells_are_normalised() -> None:
    rows: list[Sequence[object]] = [
        FULL_HEADER,
        [114, 1, 110001, CODE_A, "國語文", 4.0, 10, "T001", "學期課程"],
        [114.0, 1.0, "0110002", CODE_B, "數學", 0, "高二", "T002", "重讀", 113, 1, None],
    ]
    table = read_course_table(xlsx_bytes(rows), "upload.XLSX")
    result = parse_course_records(table, term=TERM)
    assert result.errors == []
    got = [
        (r.student_no, r.credits, r.grade, r.kind, r.original_academic_year) for r in result.rows
    ]
    assert got == [
        ("110001", 4, 1, EnrolmentKind.TERM, None),
        ("0110002", 0, 2, EnrolmentKind.REPEAT, 113),
    ]
    assert table.sheet == "修課紀錄"


def test_full_width_input() -> None:
    def wide(text: str) -> str:
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)

    row = [wide(cell) for cell in retake()]
    row[3] = "\u3000" + row[3].lower() + " "  # ａ-ｚ as well as Ａ-Ｚ
    assert row[0] == "１１４"
    result = parse_csv([row])
    assert result.errors == []
    (parsed,) = result.rows
    assert (parsed.academic_year, parsed.semester, parsed.student_no) == (114, 1, "0110002")
    assert (parsed.course_code, parsed.credits, parsed.teacher_no) == (CODE_A, 4, "T001")
    assert (parsed.original_academic_year, parsed.original_semester) == (113, 2)
    assert parsed.retake_method == "隨班附讀"


def test_lower_case_codes_are_upper_cased() -> None:
    result = parse_csv(
        [record(課程代碼=CODE_A.lower()), record(課程代碼=course_code("uf"), 學號="0110002")]
    )
    assert result.errors == []
    assert [row.course_code for row in result.rows] == [CODE_A, course_code("UF")]


def test_blank_rows_are_skipped_but_rows_keep_their_spreadsheet_numbers() -> None:
    rows: list[Sequence[object]] = [FULL_HEADER, record(), [], [None] * 12, retake()]
    result = parse_course_records(read_course_table(xlsx_bytes(rows), "a.xlsx"), term=TERM)
    assert result.errors == []
    assert [row.row for row in result.rows] == [2, 5]


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"this is not a workbook", "courses.xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "courses.xls"),
        (b"%PDF-1.7", "courses.pdf"),
        (b"\x80\x80,\xff\xff\r\n", "courses.csv"),
        (b"", "courses.csv"),
    ],
)
def test_unreadable_files_are_a_bad_request(data: bytes, filename: str) -> None:
    with pytest.raises(BadRequest) as raised:
        read_course_table(data, filename)
    assert raised.value.error_code == "file_unreadable"
    assert raised.value.status_code == 400


# --- rows --------------------------------------------------------------------------------------


def test_all_four_kinds_parse() -> None:
    rows = [
        record(),
        record(修課類別="補修", 原修課學年度="113", 原修課學期="1", 學號="0110002"),
        retake(重修方式="自學輔導"),
        record(修課類別="重讀", 原修課學年度="113", 原修課學期="1", 學號="0110003"),
    ]
    result = parse_csv(rows)
    assert result.errors == []
    got = [(r.kind, r.original_academic_year, r.original_semester, r.retake_method)
           for r in result.rows]  # fmt: skip
    assert got == [
        (EnrolmentKind.TERM, None, None, None),
        (EnrolmentKind.MAKEUP, 113, 1, None),
        (EnrolmentKind.RETAKE, 113, 2, "自學輔導"),
        (EnrolmentKind.REPEAT, 113, 1, None),
    ]


@pytest.mark.parametrize("method", ["自學輔導", "專班", "隨班附讀", "暑修"])
def test_accepted_retake_methods(method: str) -> None:
    result = parse_csv([retake(重修方式=method)])
    assert result.errors == []
    assert result.rows[0].retake_method == method


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), ("2", 2), ("3", 3), ("一", 1), ("二", 2), ("三", 3), ("10", 1), ("11", 2),
     ("12", 3), ("高三", 3), ("２", 2), ("3年級", 3)],
)  # fmt: skip
def test_grade_forms(text: str, expected: int) -> None:
    result = parse_csv([record(開課年級=text)])
    assert result.errors == []
    assert result.rows[0].grade == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("1", 1), ("2", 2), ("第一學期", 1), ("上", 1), ("下學期", 2)]
)
def test_semester_forms(text: str, expected: int) -> None:
    result = parse_csv([record(學期=text)], term=None)
    assert result.errors == []
    assert result.rows[0].semester == expected


def test_a_file_of_term_rows_may_leave_out_the_extra_columns() -> None:
    rows = [record()[:9], record(學號="0110002")[:9]]
    assert parse_csv(rows, header=HEADER).errors == []


def test_the_extra_columns_are_required_once_a_row_needs_them() -> None:
    rows = [record()[:9], retake()[:9]]
    result = parse_csv(rows, header=HEADER)
    assert problems(result) == [
        (3, "原修課學年度", "required"),
        (3, "原修課學期", "required"),
        (3, "重修方式", "required"),
    ]
    assert [row.row for row in result.rows] == [2]
    assert result.errors[2].message == "修課類別為「重修」時，「重修方式」不可空白"


@pytest.mark.parametrize(
    ("row", "column", "code"),
    [
        (record(課程代碼=CODE_A[:-1]), "課程代碼", "course_code_length"),
        (record(課程代碼=CODE_A[:22] + "*"), "課程代碼", "course_code_characters"),
        (record(課程代碼=course_code("ZZ")), "課程代碼", "course_code_domain"),
        (record(學年度="99"), "學年度", "term_invalid"),
        (record(學年度="201"), "學年度", "term_invalid"),
        (record(學年度="一一四"), "學年度", "term_invalid"),
        (record(學期="3"), "學期", "term_invalid"),
        (record(學期="0"), "學期", "term_invalid"),
        (record(學年度="113"), "學年度", "term_mismatch"),
        (record(學期="2"), "學期", "term_mismatch"),
        (record(學分="31"), "學分", "credits_invalid"),
        (record(學分="-1"), "學分", "credits_invalid"),
        (record(學分="2.5"), "學分", "credits_invalid"),
        (record(開課年級="4"), "開課年級", "grade_invalid"),
        (record(開課年級="四"), "開課年級", "grade_invalid"),
        (record(修課類別="選修"), "修課類別", "kind_invalid"),
        (record(學號=""), "學號", "required"),
        (record(科目名稱=""), "科目名稱", "required"),
        (record(授課教師="\u3000"), "授課教師", "required"),
        (retake(原修課學年度=""), "原修課學年度", "required"),
        (retake(原修課學期=""), "原修課學期", "required"),
        (retake(重修方式=""), "重修方式", "required"),
        (record(修課類別="補修", 原修課學年度="113"), "原修課學期", "required"),
        (retake(原修課學年度="98"), "原修課學年度", "term_invalid"),
        (retake(原修課學期="3"), "原修課學期", "term_invalid"),
        (retake(原修課學年度="114", 原修課學期="1"), "原修課學期", "original_term_invalid"),
        (retake(原修課學年度="114", 原修課學期="2"), "原修課學期", "original_term_invalid"),
        (retake(原修課學年度="115", 原修課學期="1"), "原修課學年度", "original_term_invalid"),
        (record(原修課學年度="113"), "原修課學年度", "original_term_invalid"),
        (record(原修課學期="2"), "原修課學期", "original_term_invalid"),
        (retake(重修方式="補考"), "重修方式", "retake_method_invalid"),
        (record(重修方式="專班"), "重修方式", "retake_method_invalid"),
        (
            record(修課類別="補修", 原修課學年度="113", 原修課學期="1", 重修方式="專班"),
            "重修方式",
            "retake_method_invalid",
        ),
        (record(學號="0119999"), "學號", "unknown_student"),
        (record(授課教師="T999"), "授課教師", "unknown_teacher"),
        (record(科目名稱="國" * 101), "科目名稱", "too_long"),
    ],
)
def test_each_problem_is_one_error_without_the_cell_value(
    row: list[str], column: str, code: str
) -> None:
    result = parse_csv([record(學號="0110003"), row])
    assert problems(result) == [(3, column, code)]
    assert [r.row for r in result.rows] == [2]
    (error,) = result.errors
    assert error.sheet == "courses.csv"
    assert error.message
    cell = row[FULL_HEADER.index(column)]
    if cell.strip() and code != "course_code_domain":
        assert cell not in error.message


def test_domain_errors_name_the_domain_code() -> None:
    (error,) = parse_csv([record(課程代碼=course_code("zz"))]).errors
    assert error.message == "課程代碼第 20–21 碼「ZZ」不是已知的領域代碼"


def test_unknown_students_and_teachers_only_when_known_sets_are_given() -> None:
    rows = [record(學號="0119999", 授課教師="T999")]
    assert parse_csv(rows, known=False).errors == []
    result = parse_csv(rows)
    assert problems(result) == [(2, "學號", "unknown_student"), (2, "授課教師", "unknown_teacher")]
    assert all("0119999" not in e.message and "T999" not in e.message for e in result.errors)


def test_term_mismatch_only_when_a_term_is_given() -> None:
    rows = [record(學年度="113", 學期="2")]
    assert parse_csv(rows, term=None).errors == []
    result = parse_csv(rows, term=TERM)
    assert problems(result) == [(2, "學年度", "term_mismatch")]
    assert "114 學年度第 1 學期" in result.errors[0].message


def test_a_bad_term_argument_is_a_programming_error() -> None:
    table = read_course_table(csv_bytes([FULL_HEADER, record()]), "a.csv")
    for term in ((99, 1), (114, 3)):
        with pytest.raises(ValueError, match="term"):
            parse_course_records(table, term=term)


def test_duplicate_records_are_reported_on_each_later_row() -> None:
    rows = [
        record(),
        record(授課教師="T002", 科目名稱="國文"),  # same key, other cells differ: a duplicate
        retake(學號="0110001"),  # same student and course, another kind: not a duplicate
        record(課程代碼=CODE_A.lower()),  # the same code once normalised
        record(學號="0110002"),
    ]
    result = parse_csv(rows)
    assert problems(result) == [
        (3, "課程代碼", "duplicate_record"),
        (5, "課程代碼", "duplicate_record"),
    ]
    assert result.errors[0].message.startswith("與第 2 列重複")
    assert [row.row for row in result.rows] == [2, 4, 6]


def test_a_missing_column_is_one_error_on_row_one_and_other_columns_are_still_checked() -> None:
    keep = [i for i, name in enumerate(FULL_HEADER) if name != "授課教師"]
    rows = [record(), record(學號="0110002", 學分="99")]
    table_rows = [[r[i] for i in keep] for r in [FULL_HEADER, *rows]]
    result = parse_csv(table_rows[1:], header=table_rows[0])
    assert problems(result) == [(1, "授課教師", "missing_column"), (3, "學分", "credits_invalid")]
    assert result.errors[0].message == "缺少必要欄位「授課教師」"
    assert result.rows == []


def test_every_missing_column_is_reported() -> None:
    table = read_course_table(csv_bytes([["備註"], ["x"]]), "a.csv")
    result = parse_course_records(table)
    assert problems(result) == sorted((1, name, "missing_column") for name in HEADER)
    assert result.rows == []


def test_a_header_named_twice_is_reported() -> None:
    result = parse_csv([[*record(), "T002"]], header=[*FULL_HEADER, "授課教師"])
    assert problems(result) == [(1, "授課教師", "duplicate_column")]


def test_every_problem_is_collected_and_sorted_by_row_then_column() -> None:
    bad = ["99", "3", "", "abc", "", "x", "9", "", "選修", "", "", ""]
    rows = [record(), bad, record(學號="0110002", 學分="-1"), retake(原修課學年度="115")]
    result = parse_csv(rows)
    assert problems(result) == [
        (3, "修課類別", "kind_invalid"),
        (3, "學分", "credits_invalid"),
        (3, "學年度", "term_invalid"),
        (3, "學期", "term_invalid"),
        (3, "學號", "required"),
        (3, "授課教師", "required"),
        (3, "科目名稱", "required"),
        (3, "課程代碼", "course_code_length"),
        (3, "開課年級", "grade_invalid"),
        (4, "學分", "credits_invalid"),
        (5, "原修課學年度", "original_term_invalid"),
    ]
    assert result.errors == sorted(result.errors, key=lambda e: (e.row, e.column))
    assert [row.row for row in result.rows] == [2]


def test_errors_become_an_invalid_rows_error() -> None:
    result = parse_csv([record(學號="0119999", 學分="31")])
    assert not result.ok
    with pytest.raises(InvalidRows) as raised:
        result.raise_for_errors()
    body = raised.value.body()
    assert body["error"] == "invalid_rows"
    assert [item["code"] for item in body["detail"]] == ["credits_invalid", "unknown_student"]
    assert set(body["detail"][0]) == {"sheet", "row", "column", "code", "message"}
    assert "0119999" not in repr(body)
    assert parse_csv([record()]).ok


def test_row_errors_carry_no_values() -> None:
    error = RowError("a.csv", 2, "學號", "unknown_student", "找不到此學號的學生")
    assert asdict(error) == error.as_detail()


# --- sections ----------------------------------------------------------------------------------


def test_sections_group_by_term_course_and_teacher() -> None:
    rows = [
        record(),
        record(學號="0110002"),
        record(學號="0110003", 授課教師="T002"),
        retake(),  # a 重修 student attending the T001 section (隨班附讀)
        record(課程代碼=CODE_B),
    ]
    result = parse_csv(rows, known=False)
    assert result.errors == []
    sections = sections_of(result.rows)
    assert list(sections) == [
        (114, 1, CODE_A, "T001"),
        (114, 1, CODE_A, "T002"),
        (114, 1, CODE_B, "T001"),
    ]
    first = next(iter(sections))
    assert isinstance(first, SectionKey)
    assert first.teacher_no == "T001"
    assert [row.row for row in sections[first]] == [2, 3, 5]
    assert sections_of([]) == {}


# --- template ----------------------------------------------------------------------------------


def test_the_template_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "修課紀錄範本.xlsx"
    path.write_bytes(template_xlsx())
    table = read_course_table(path.read_bytes(), path.name)
    assert table.header == template_columns() == tuple(FULL_HEADER)
    assert table.rows == ()
    empty = parse_course_records(table, term=TERM)
    assert (empty.errors, empty.rows) == ([], [])

    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["修課紀錄", "說明"]
    notes = workbook["說明"]
    assert [notes.cell(row=i, column=1).value for i in range(2, 14)] == FULL_HEADER
    sheet = workbook.worksheets[0]
    sheet.append(record())
    sheet.append(retake())
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = parse_course_records(
        read_course_table(buffer.getvalue(), path.name),
        term=TERM,
        known_student_nos=STUDENTS,
        known_teacher_nos=TEACHERS,
    )
    assert result.errors == []
    assert [(row.kind, row.row) for row in result.rows] == [
        (EnrolmentKind.TERM, 2),
        (EnrolmentKind.RETAKE, 3),
    ]
