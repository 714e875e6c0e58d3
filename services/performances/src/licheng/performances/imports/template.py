"""The batch-import template: a 說明 sheet, then one sheet per category with its headings.

The category sheets hold only their header rows, so the template uploaded unchanged imports
nothing; the 說明 sheet (never read by the import) explains every column and code, and lists the
school's active 檢定證照 items.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from licheng.performances.categories import (
    BRIEF_LABEL,
    CATEGORIES,
    VIDEO_LABEL,
    FieldKind,
    FieldSpec,
)
from licheng.performances.imports.parsing import (
    IGNORED_HEADINGS,
    MAX_IMPORT_ROWS,
    MAX_YEAR,
    MIN_YEAR,
    NOTES_SHEET,
    STUDENT_NO,
    YEAR,
    sheet_columns,
)

_TEXT_FORMAT = "@"
_LAST_ROW = 5000
_USAGE = (
    "每個類別一個工作表，工作表名稱為類別名稱（例如 競賽參與）；不需要的類別工作表可刪除或留空。",
    "第 1 列為欄位名稱，欄位順序可調整；可另加「姓名」「班級」「座號」欄方便核對（匯入時不讀取），"
    "其他無法辨識的欄位或工作表會被拒絕。",
    "整份活頁簿全部正確才會寫入；有任何問題時不寫入任何資料，並列出每個問題的工作表、列與欄位。",
    "匯入的紀錄會出現在學生的自填多元表現中，學生仍需自行上傳證明文件；重複匯入同一份資料不會重複建立。",
    f"已提交（鎖定）學年度的學生自填多元表現名冊不能再匯入；一次最多 {MAX_IMPORT_ROWS} 列。",
)
_KIND_NOTES = {
    FieldKind.TEXT: "文字",
    FieldKind.DATE: "日期，例如 2026-09-01 或 115/09/01",
    FieldKind.HOURS: "0 以上的數字，最多一位小數",
    FieldKind.COUNT: "0 以上的整數",
    FieldKind.YEAR: f"民國學年度（{MIN_YEAR}–{MAX_YEAR}）",
    FieldKind.SEMESTER: "1 或 2",
    FieldKind.CERTIFICATE: "學校檢定證照清單中啟用項目的證照代碼（見本頁最下方）",
}


def _field_note(spec: FieldSpec) -> str:
    if spec.kind == FieldKind.CODE:
        return "代碼：" + "、".join(f"{code} {label}" for code, label in spec.choices.items())
    note = _KIND_NOTES[spec.kind]
    if spec.kind in (FieldKind.TEXT, FieldKind.CERTIFICATE):
        note += f"，最多 {spec.max_length} 字"
    return note


def _notes_sheet(workbook: Workbook, certificates: Sequence[tuple[str, str]]) -> None:
    sheet = workbook.active
    assert sheet is not None
    sheet.title = NOTES_SHEET
    bold = Font(bold=True)
    for line in _USAGE:
        sheet.append([line])
    sheet.append([])
    sheet.append(["工作表", "欄位", "必填", "說明"])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for spec in CATEGORIES.values():
        sheet.append([spec.title, YEAR.name, "是", _KIND_NOTES[FieldKind.YEAR]])
        sheet.append([spec.title, STUDENT_NO.name, "是", "校內學號，須為本校學生"])
        for field in spec.fields:
            sheet.append([spec.title, field.label, "是" if field.required else "否",
                          _field_note(field)])  # fmt: skip
        sheet.append([spec.title, BRIEF_LABEL, "是", "內容簡述，字數上限依該學年度的參數設定"])
        sheet.append([spec.title, VIDEO_LABEL, "否", "http:// 或 https:// 開頭的網址"])
    sheet.append([])
    sheet.append(["檢定證照清單（啟用中）"])
    sheet[sheet.max_row][0].font = bold
    sheet.append(["證照代碼", "證照名稱"])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for code, name in certificates:
        sheet.append([code, name])
    for letter, width in zip("ABCD", (24, 22, 8, 60), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows():
        for cell in row:
            cell.alignment = Alignment(vertical="top")


def template_xlsx(certificates: Sequence[tuple[str, str]] = ()) -> bytes:
    """The workbook: 說明 first, then a sheet per category titled by its seed name."""
    workbook = Workbook()
    _notes_sheet(workbook, certificates)
    bold = Font(bold=True)
    ignored = set(IGNORED_HEADINGS)
    for spec in CATEGORIES.values():
        sheet = workbook.create_sheet(spec.title)
        fields = {f.label: f for f in spec.fields}
        for index, column in enumerate(sheet_columns(spec), start=1):
            assert column.name not in ignored
            cell = sheet.cell(row=1, column=index, value=column.name)
            cell.font = bold
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = 30 if column.name == BRIEF_LABEL else 16
            field = fields.get(column.name)
            if column.name == STUDENT_NO.name or (
                field is not None and field.kind == FieldKind.CERTIFICATE
            ):
                sheet.column_dimensions[letter].number_format = _TEXT_FORMAT
            if field is not None and field.kind == FieldKind.CODE:
                validation = DataValidation(
                    type="list", formula1='"' + ",".join(field.choices) + '"', allow_blank=True
                )
                validation.add(f"{letter}2:{letter}{_LAST_ROW}")
                sheet.add_data_validation(validation)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
