"""Downloadable xlsx templates: the header row to fill in, and a 說明 sheet with notes.

The first sheet holds only the header, so a template uploaded unchanged imports nothing; the
examples live on the 說明 sheet, which imports never read.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from licheng.kit.tabular.columns import Column

TEMPLATE_USAGE = "請在第一個工作表填入資料；第 1 列為欄位名稱，欄位順序可調整，多餘的欄位會略過。"
"""The usage line at the foot of a template's 說明 sheet (services may append to it)."""

Note = tuple[str, str, str]
"""A column's line on the 說明 sheet: (必填, 說明, 範例)."""

_TEXT_FORMAT = "@"  # keeps leading zeros of 學號 and codes typed into the template
_LAST_ROW = 5000  # how far down the drop-down lists reach
_NOTES_HEADER = ("欄位", "必填", "說明", "範例（僅供參考，請勿匯入）")


def template_workbook(
    title: str,
    columns: Sequence[Column],
    notes: Mapping[str, Note],
    text_columns: Collection[str] = frozenset(),
    choices: Mapping[str, Sequence[str]] | None = None,
    *,
    usage: str = TEMPLATE_USAGE,
    column_width: int = 16,
    column_widths: Mapping[str, int] | None = None,
    required_width: int = 8,
) -> bytes:
    """An xlsx template: a `title` sheet with the header row, and a 說明 sheet with notes.

    `notes` has a (必填, 說明, 範例) line for every column, by name; `text_columns` are
    formatted as text (keeping leading zeros); `choices` offer a drop-down list per column.
    Header columns are `column_width` wide unless `column_widths` names them; `required_width`
    is the width of the 說明 sheet's 必填 column.
    """
    choices = choices or {}
    column_widths = column_widths or {}
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    bold = Font(bold=True)
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index, value=column.name)
        cell.font = bold
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = column_widths.get(column.name, column_width)
        if column.name in text_columns:
            sheet.column_dimensions[letter].number_format = _TEXT_FORMAT
        if options := choices.get(column.name):
            validation = DataValidation(
                type="list", formula1='"' + ",".join(options) + '"', allow_blank=True
            )
            validation.add(f"{letter}2:{letter}{_LAST_ROW}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"

    notes_sheet = workbook.create_sheet("說明")
    notes_sheet.append(list(_NOTES_HEADER))
    for cell in notes_sheet[1]:
        cell.font = bold
    for column in columns:
        notes_sheet.append([column.name, *notes[column.name]])
    notes_sheet.append([])
    notes_sheet.append([usage])
    for letter, width in zip("ABCD", (14, required_width, 60, 28), strict=True):
        notes_sheet.column_dimensions[letter].width = width
    for row in notes_sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
