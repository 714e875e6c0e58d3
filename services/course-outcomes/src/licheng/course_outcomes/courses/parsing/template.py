"""The downloadable 修課紀錄 xlsx template: the header row to fill in, and a 說明 sheet with notes.

The first sheet holds only the header, so a template uploaded unchanged imports nothing; the
examples live on the 說明 sheet, which imports never read. (Laid out as identity's templates.)
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from licheng.course_outcomes.courses.parsing.model import RETAKE_METHODS, EnrolmentKind
from licheng.course_outcomes.courses.parsing.records import COURSE_COLUMNS

TITLE = "修課紀錄"
_TEXT_FORMAT = "@"  # keeps leading zeros of 學號, 教師編號 and codes typed into the template
_LAST_ROW = 5000  # how far down the drop-down lists reach
_USAGE = (
    "請在第一個工作表填入資料；第 1 列為欄位名稱，欄位順序可調整，多餘的欄位會略過。"
    "只有學期課程的檔案可省略「原修課學年度」「原修課學期」「重修方式」三欄。"
)
_NOTES: dict[str, tuple[str, str, str]] = {  # column name → (必填, 說明, 範例)
    "學年度": ("是", "民國學年度，一次匯入一個學期", "114"),
    "學期": ("是", "1 或 2", "1"),
    "學號": ("是", "校內學號，以文字輸入以保留開頭的 0，須先匯入學生資料", "0110001"),
    "課程代碼": (
        "是",
        "23 碼課程代碼（課程計畫平台），英文字母大小寫皆可",
        "108011302H11101A1010101",
    ),
    "科目名稱": ("是", "科目名稱", "國語文"),
    "學分": ("是", "0 到 30 的整數", "4"),
    "開課年級": ("是", "1、2、3（也可寫 一、二、三 或 10、11、12）", "1"),
    "授課教師": ("是", "授課教師的教師編號，須先匯入教職員資料；由此教師認證課程學習成果", "T0001"),
    "修課類別": ("是", "學期課程、補修、重修、重讀 其中之一", "學期課程"),
    "原修課學年度": ("補修、重修、重讀必填", "原本應修或修課的學年度，須早於本學期", "113"),
    "原修課學期": ("補修、重修、重讀必填", "原本應修或修課的學期（1 或 2）", "2"),
    "重修方式": (
        "重修必填",
        "自學輔導、專班、隨班附讀、暑修 其中之一；其他修課類別留空",
        "自學輔導",
    ),
}
_TEXT_COLUMNS = frozenset({"學號", "課程代碼", "授課教師"})
_CHOICES: dict[str, tuple[str, ...]] = {
    "學期": ("1", "2"),
    "開課年級": ("1", "2", "3"),
    "修課類別": tuple(kind.value for kind in EnrolmentKind),
    "原修課學期": ("1", "2"),
    "重修方式": RETAKE_METHODS,
}


def template_columns() -> tuple[str, ...]:
    """The header names of the template, in order."""
    return tuple(column.name for column in COURSE_COLUMNS)


def template_xlsx() -> bytes:
    """An xlsx template: a 修課紀錄 sheet with the header row, and a 說明 sheet with notes."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = TITLE
    bold = Font(bold=True)
    for index, column in enumerate(COURSE_COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index, value=column.name)
        cell.font = bold
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = 26 if column.name == "課程代碼" else 14
        if column.name in _TEXT_COLUMNS:
            sheet.column_dimensions[letter].number_format = _TEXT_FORMAT
        if choices := _CHOICES.get(column.name):
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
    for column in COURSE_COLUMNS:
        notes.append([column.name, *_NOTES[column.name]])
    notes.append([])
    notes.append([_USAGE])
    for letter, width in zip("ABCD", (14, 12, 60, 28), strict=True):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
