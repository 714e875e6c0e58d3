"""The downloadable 修課紀錄 xlsx template: the header row to fill in, and a 說明 sheet with notes.

Laid out by `licheng.kit.tabular.template_workbook`: the first sheet holds only the header, so a
template uploaded unchanged imports nothing; the examples live on the 說明 sheet, which imports
never read.
"""

from __future__ import annotations

from licheng.course_outcomes.courses.parsing.model import RETAKE_METHODS, EnrolmentKind
from licheng.course_outcomes.courses.parsing.records import COURSE_COLUMNS
from licheng.kit.tabular import TEMPLATE_USAGE, Note, template_workbook

TITLE = "修課紀錄"
_USAGE = TEMPLATE_USAGE + (
    "只有學期課程的檔案可省略「原修課學年度」「原修課學期」「重修方式」三欄。"
)
_NOTES: dict[str, Note] = {  # column name → (必填, 說明, 範例)
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
    return template_workbook(
        TITLE,
        COURSE_COLUMNS,
        _NOTES,
        _TEXT_COLUMNS,
        _CHOICES,
        usage=_USAGE,
        column_width=14,
        column_widths={"課程代碼": 26},
        required_width=12,
    )
