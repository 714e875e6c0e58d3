"""Downloadable xlsx templates of the students, staff and classes files.

Each is laid out by `licheng.kit.tabular.template_workbook`: a sheet with only the header row
(so a template uploaded unchanged imports nothing), and a 說明 sheet with notes and examples,
which imports never read.
"""

from __future__ import annotations

from dataclasses import dataclass

from licheng.contracts.people import EnrolmentStatus
from licheng.identity.imports.classes import CLASS_COLUMNS
from licheng.identity.imports.model import ImportKind
from licheng.identity.imports.staff import STAFF_COLUMNS
from licheng.identity.imports.students import STUDENT_COLUMNS
from licheng.kit.tabular import Column, Note, template_workbook

_EMAIL_NOTE = ("否", "學校配發的電子郵件，可留空", "student@example.edu.tw")


@dataclass(frozen=True, slots=True)
class _Spec:
    title: str
    columns: tuple[Column, ...]
    notes: dict[str, Note]  # column name → (必填, 說明, 範例)
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
    return template_workbook(spec.title, spec.columns, spec.notes, spec.text_columns, spec.choices)
