"""Downloadable xlsx templates: the header row to fill in, and a 說明 sheet with notes.

The first sheet holds only the header, so a template uploaded unchanged imports nothing; the
examples live on the 說明 sheet, which imports never read.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from licheng.identity.imports.classes import CLASS_COLUMNS
from licheng.identity.imports.columns import Column
from licheng.identity.imports.model import EnrolmentStatus, ImportKind
from licheng.identity.imports.staff import STAFF_COLUMNS
from licheng.identity.imports.students import STUDENT_COLUMNS

_TEXT_FORMAT = "@"  # keeps leading zeros of 學號 and codes typed into the template
_LAST_ROW = 5000  # how far down the drop-down lists reach
_USAGE = "請在第一個工作表填入資料；第 1 列為欄位名稱，欄位順序可調整，多餘的欄位會略過。"
_EMAIL_NOTE = ("否", "學校配發的電子郵件，可留空", "student@example.edu.tw")


@dataclass(frozen=True, slots=True)
class _Spec:
    title: str
    columns: tuple[Column, ...]
    notes: dict[str, tuple[str, str, str]]  # column name → (必填, 說明, 範例)
    text_columns: frozenset[str]
    choices: dict[str, tuple[str, ...]]


_SPECS: dict[ImportKind, _Spec] = {
    ImportKind.STUDENTS: _Spec(
        title="學生",
        columns=STUDENT_COLUMNS,
        notes={
            "學號": ("是", "校內學號，以文字輸入以保留開頭的 0", "0110001"),
            "姓名": ("是", "學生姓名", "王範例"),
            "班級": ("是", "班級代碼，須先匯入班級資料", "101"),
            "座號": ("是", "正整數", "5"),
            "身分證號": ("是", "身分證號或統一證號（新式、舊式皆可），會驗證檢查碼", "A123456789"),
            "出生日期": ("是", "西元 2008-05-01、2008/5/1 或民國 0970501、97/05/01", "2008-05-01"),
            "在籍狀態": ("是", "在籍、休學、轉出、畢業 其中之一", "在籍"),
            "email": _EMAIL_NOTE,
        },
        text_columns=frozenset({"學號", "班級", "身分證號", "出生日期"}),
        choices={"在籍狀態": tuple(status.value for status in EnrolmentStatus)},
    ),
    ImportKind.STAFF: _Spec(
        title="教職員",
        columns=STAFF_COLUMNS,
        notes={
            "教師編號": ("是", "校內教職員編號，以文字輸入以保留開頭的 0", "T0001"),
            "姓名": ("是", "教職員姓名", "林範例"),
            "email": ("否", "登入用的電子郵件（欄名也可寫「電子郵件」）", "teacher@example.edu.tw"),
        },
        text_columns=frozenset({"教師編號"}),
        choices={},
    ),
    ImportKind.CLASSES: _Spec(
        title="班級",
        columns=CLASS_COLUMNS,
        notes={
            "班級代碼": ("是", "校內班級代碼，學生資料的「班級」欄使用此代碼", "101"),
            "年級": ("是", "1、2、3（也可寫 一、二、三 或 10、11、12）", "1"),
            "班級名稱": ("否", "顯示用的名稱", "普一甲"),
            "導師": ("否", "導師的教師編號，須先匯入教職員資料", "T0001"),
        },
        text_columns=frozenset({"班級代碼", "導師"}),
        choices={"年級": ("1", "2", "3")},
    ),
}


def template_columns(kind: ImportKind) -> tuple[str, ...]:
    """The header names of a kind's template, in order."""
    return tuple(column.name for column in _SPECS[kind].columns)


def template_xlsx(kind: ImportKind) -> bytes:
    """An xlsx template for `kind`: a sheet with the header row, and a 說明 sheet with notes."""
    spec = _SPECS[kind]
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = spec.title
    bold = Font(bold=True)
    for index, column in enumerate(spec.columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.name)
        cell.font = bold
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = 16
        if column.name in spec.text_columns:
            sheet.column_dimensions[letter].number_format = _TEXT_FORMAT
        if choices := spec.choices.get(column.name):
            validation = DataValidation(
                type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True
            )
            validation.add(f"{letter}2:{letter}{_LAST_ROW}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet("說明")
    notes.append(["欄位", "必填", "說明", "範例（僅供參考，請勿匯入）"])
    for cell in notes[1]:
        cell.font = bold
    for column in spec.columns:
        notes.append([column.name, *spec.notes[column.name]])
    notes.append([])
    notes.append([_USAGE])
    for letter, width in zip("ABCD", (14, 8, 60, 28), strict=True):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
