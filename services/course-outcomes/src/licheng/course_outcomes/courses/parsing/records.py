"""The 修課紀錄 file a school's 校務行政系統 exports: one row per student per course per term.

Columns: 學年度, 學期, 學號, 課程代碼, 科目名稱, 學分, 開課年級, 授課教師 (the teacher's 教師編號),
修課類別 (學期課程 / 補修 / 重修 / 重讀), and for 補修, 重修 and 重讀 rows 原修課學年度 and
原修課學期 (earlier than the row's term), plus 重修方式 on 重修 rows. The last three columns may
be left out of a file that has only 學期課程 rows.

Error messages never repeat a cell's value, except codes (課程代碼's 領域 code, the import term).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set

from licheng.contracts.schools import GRADE_HINT, parse_grade
from licheng.course_outcomes.courses.parsing.codes import (
    COURSE_CODE_LENGTH,
    DOMAIN_SLICE,
    normalise_course_code,
    validate_course_code,
)
from licheng.course_outcomes.courses.parsing.model import (
    RETAKE_METHODS,
    CourseRow,
    EnrolmentKind,
    SectionKey,
)
from licheng.kit.tabular import (
    Column,
    FirstSeen,
    ParseResult,
    RowReader,
    Sheet,
    Table,
    read_table,
)

ACADEMIC_YEAR = Column("學年度", aliases=("學年", "實際修課學年度"))
SEMESTER = Column("學期", aliases=("實際修課學期",))
STUDENT_NO = Column("學號", max_length=32)
COURSE_CODE = Column("課程代碼", aliases=("科目代碼",), max_length=100)
SUBJECT_NAME = Column("科目名稱", aliases=("課程名稱",), max_length=100)
CREDITS = Column("學分", aliases=("修課學分", "科目學分", "學分數"))
GRADE = Column("開課年級", aliases=("年級",))
TEACHER = Column("授課教師", aliases=("授課教師編號", "任課教師", "教師編號"), max_length=32)
KIND = Column("修課類別", aliases=("修課類型",))
ORIGINAL_YEAR = Column("原修課學年度", required=False, aliases=("應修課學年度", "原開課學年度"))
ORIGINAL_SEMESTER = Column("原修課學期", required=False, aliases=("應修課學期", "原開課學期"))
RETAKE_METHOD = Column("重修方式", required=False, aliases=("重補修方式",))
COURSE_COLUMNS = (
    ACADEMIC_YEAR,
    SEMESTER,
    STUDENT_NO,
    COURSE_CODE,
    SUBJECT_NAME,
    CREDITS,
    GRADE,
    TEACHER,
    KIND,
    ORIGINAL_YEAR,
    ORIGINAL_SEMESTER,
    RETAKE_METHOD,
)

MAX_COURSE_ROWS = 100_000
"""One term of a large school (4,000 students × 20 courses) fits; bigger files are refused."""

MIN_ACADEMIC_YEAR, MAX_ACADEMIC_YEAR = 100, 200
MAX_CREDITS = 30

SEMESTERS: dict[str, int] = {"1": 1, "2": 2, "一": 1, "二": 2, "上": 1, "下": 2}
"""學期 as written (after an optional 第… and 學期): 1/2, 一/二, 上/下."""

_DIGITS = re.compile(r"[0-9]+")
_KINDS = "、".join(kind.value for kind in EnrolmentKind)
_METHODS = "、".join(RETAKE_METHODS)


def read_course_table(data: bytes, filename: str) -> Table:
    """Read a 修課紀錄 xlsx or CSV file (UTF-8 or Big5), allowing up to `MAX_COURSE_ROWS` rows."""
    return read_table(data, filename, max_rows=MAX_COURSE_ROWS)


def _check_term(term: tuple[int, int]) -> None:
    year, semester = term
    if not MIN_ACADEMIC_YEAR <= year <= MAX_ACADEMIC_YEAR or semester not in (1, 2):
        raise ValueError("term must be (學年度 100–200, 學期 1 or 2)")


def _academic_year(reader: RowReader, column: Column, text: str | None) -> int | None:
    if text is None:
        return None
    digits = text.removesuffix("學年度").removesuffix("學年")
    if not _DIGITS.fullmatch(digits) or not (MIN_ACADEMIC_YEAR <= int(digits) <= MAX_ACADEMIC_YEAR):
        label = reader.sheet.label(column)
        message = f"「{label}」必須是 {MIN_ACADEMIC_YEAR} 到 {MAX_ACADEMIC_YEAR} 之間的民國學年度"
        reader.error(column, "term_invalid", message)
        return None
    return int(digits)


def _semester(reader: RowReader, column: Column, text: str | None) -> int | None:
    if text is None:
        return None
    semester = SEMESTERS.get(text.removeprefix("第").removesuffix("學期"))
    if semester is None:
        label = reader.sheet.label(column)
        reader.error(column, "term_invalid", f"「{label}」必須是 1 或 2（也可寫 上、下）")
    return semester


def _course_code(reader: RowReader) -> str | None:
    text = reader.text(COURSE_CODE, identifier=True)
    if text is None:
        return None
    problem = validate_course_code(text)
    code = normalise_course_code(text)
    if problem == "course_code_length":
        message = f"課程代碼必須是 {COURSE_CODE_LENGTH} 個字元"
    elif problem == "course_code_characters":
        message = "課程代碼只能包含數字 0–9 與英文字母 A–Z"
    elif problem == "course_code_domain":
        message = f"課程代碼第 20–21 碼「{code[DOMAIN_SLICE]}」不是已知的領域代碼"
    else:
        return code
    reader.error(COURSE_CODE, problem, message)
    return None


def _credits(reader: RowReader) -> int | None:
    text = reader.text(CREDITS, identifier=True)
    if text is None:
        return None
    if not _DIGITS.fullmatch(text) or int(text) > MAX_CREDITS:
        reader.error(CREDITS, "credits_invalid", f"學分必須是 0 到 {MAX_CREDITS} 之間的整數")
        return None
    return int(text)


def _kind(reader: RowReader) -> EnrolmentKind | None:
    text = reader.text(KIND, identifier=True)
    if text is None:
        return None
    try:
        return EnrolmentKind(text)
    except ValueError:
        reader.error(KIND, "kind_invalid", f"修課類別必須是 {_KINDS} 其中之一")
        return None


def _original_term(
    reader: RowReader, kind: EnrolmentKind | None, term: tuple[int | None, int | None]
) -> tuple[int | None, int | None]:
    """原修課學年度 and 原修課學期: required for 補修/重修/重讀, earlier than the row's term."""
    year_text = reader.text(ORIGINAL_YEAR, identifier=True)
    semester_text = reader.text(ORIGINAL_SEMESTER, identifier=True)
    if kind is EnrolmentKind.TERM:
        for column, text in ((ORIGINAL_YEAR, year_text), (ORIGINAL_SEMESTER, semester_text)):
            if text is not None:
                label = reader.sheet.label(column)
                message = f"修課類別為「{kind.value}」時，「{label}」須留空"
                reader.error(column, "original_term_invalid", message)
        return None, None
    year = _academic_year(reader, ORIGINAL_YEAR, year_text)
    semester = _semester(reader, ORIGINAL_SEMESTER, semester_text)
    if kind is None:
        return year, semester
    for column, text in ((ORIGINAL_YEAR, year_text), (ORIGINAL_SEMESTER, semester_text)):
        if text is None:
            label = reader.sheet.label(column)
            reader.error(column, "required", f"修課類別為「{kind.value}」時，「{label}」不可空白")
    row_year, row_semester = term
    if year is None or semester is None or row_year is None or row_semester is None:
        return year, semester
    if (year, semester) >= (row_year, row_semester):
        column = ORIGINAL_YEAR if year > row_year else ORIGINAL_SEMESTER
        message = "原修課學年度、學期必須早於此列的學年度、學期"
        reader.error(column, "original_term_invalid", message)
    return year, semester


def _retake_method(reader: RowReader, kind: EnrolmentKind | None) -> str | None:
    text = reader.text(RETAKE_METHOD, identifier=True)
    if text is None:
        if kind is EnrolmentKind.RETAKE:
            label = reader.sheet.label(RETAKE_METHOD)
            reader.error(RETAKE_METHOD, "required", f"修課類別為「重修」時，「{label}」不可空白")
        return None
    if kind is not None and kind is not EnrolmentKind.RETAKE:
        message = "只有修課類別為「重修」的紀錄才填寫重修方式，其他修課類別須留空"
        reader.error(RETAKE_METHOD, "retake_method_invalid", message)
        return None
    if text not in RETAKE_METHODS:
        reader.error(RETAKE_METHOD, "retake_method_invalid", f"重修方式必須是 {_METHODS} 其中之一")
        return None
    return text


def parse_course_records(
    table: Table,
    *,
    term: tuple[int, int] | None = None,
    known_student_nos: Set[str] | None = None,
    known_teacher_nos: Set[str] | None = None,
) -> ParseResult[CourseRow]:
    """Validate a 修課紀錄 file; the result lists every problem, sorted by (row, column).

    With `term` (學年度, 學期), every row must be of that term (an import is for one term).
    With `known_student_nos` / `known_teacher_nos`, every 學號 / 授課教師 must be one of them.
    A row repeating an earlier row's (學號, 課程代碼, 學年度, 學期, 修課類別) is a duplicate.
    """
    if term is not None:
        _check_term(term)
    sheet = Sheet(table, COURSE_COLUMNS)
    records = FirstSeen()
    rows: list[CourseRow] = []
    for reader in sheet.rows():
        year = _academic_year(reader, ACADEMIC_YEAR, reader.text(ACADEMIC_YEAR, identifier=True))
        semester = _semester(reader, SEMESTER, reader.text(SEMESTER, identifier=True))
        student_no = reader.text(STUDENT_NO, identifier=True)
        course_code = _course_code(reader)
        subject_name = reader.text(SUBJECT_NAME)
        credits = _credits(reader)
        grade = reader.coded(GRADE, parse_grade, code="grade_invalid", hint=GRADE_HINT)
        teacher_no = reader.text(TEACHER, identifier=True)
        kind = _kind(reader)
        original_year, original_semester = _original_term(reader, kind, (year, semester))
        retake_method = _retake_method(reader, kind)

        if term is not None and year is not None and semester is not None:
            if year != term[0]:
                column = ACADEMIC_YEAR
            elif semester != term[1]:
                column = SEMESTER
            else:
                column = None
            if column is not None:
                message = f"本次匯入的是 {term[0]} 學年度第 {term[1]} 學期，此列的學年度、學期不符"
                reader.error(column, "term_mismatch", message)
        if (
            student_no is not None
            and known_student_nos is not None
            and student_no not in known_student_nos
        ):
            message = "找不到此學號的學生，請先匯入學生資料"
            reader.error(STUDENT_NO, "unknown_student", message)
        if (
            teacher_no is not None
            and known_teacher_nos is not None
            and teacher_no not in known_teacher_nos
        ):
            message = "找不到此教師編號的教職員，請先匯入教職員資料"
            reader.error(TEACHER, "unknown_teacher", message)
        if (
            student_no is not None
            and course_code is not None
            and year is not None
            and semester is not None
            and kind is not None
        ):
            key = "\x1f".join((student_no, course_code, str(year), str(semester), kind.value))
            if first := records.earlier(key, reader.row):
                message = f"與第 {first} 列重複（學號、課程代碼、學年度、學期與修課類別皆相同）"
                reader.error(COURSE_CODE, "duplicate_record", message)

        if (
            reader.failed
            or year is None
            or semester is None
            or student_no is None
            or course_code is None
            or subject_name is None
            or credits is None
            or grade is None
            or teacher_no is None
            or kind is None
        ):
            continue
        rows.append(
            CourseRow(
                academic_year=year,
                semester=semester,
                student_no=student_no,
                course_code=course_code,
                subject_name=subject_name,
                credits=credits,
                grade=grade,
                teacher_no=teacher_no,
                kind=kind,
                original_academic_year=original_year,
                original_semester=original_semester,
                retake_method=retake_method,
                row=reader.row,
            )
        )
    return sheet.result(rows)


def sections_of(rows: Iterable[CourseRow]) -> dict[SectionKey, list[CourseRow]]:
    """Rows grouped into course sections (學年度, 學期, 課程代碼, 授課教師), in first-seen order.

    A section's 授課教師 is the teacher who certifies its students' 課程學習成果.
    """
    sections: dict[SectionKey, list[CourseRow]] = {}
    for row in rows:
        key = SectionKey(row.academic_year, row.semester, row.course_code, row.teacher_no)
        sections.setdefault(key, []).append(row)
    return sections
