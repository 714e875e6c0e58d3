"""The 檢定證照 catalog file (xlsx or CSV, UTF-8 or Big5): one row per item of the whole catalog.

Columns: 證照代碼, 證照名稱, 證照類別 (optional), 發照單位 (optional), 國內國外 (國內 / 國外) and
啟用 (是 / 否; optional, 是 when left out or blank). Pure and synchronous: async callers run
`read_catalog_table` and `parse_catalog` through `in_worker`. Error messages never repeat a
cell's value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from licheng.kit.tabular import (
    Column,
    FirstSeen,
    ParseResult,
    Sheet,
    Table,
    read_table,
    template_workbook,
)
from licheng.performances.categories import normalise_certificate_code

MAX_CATALOG_ROWS = 5_000
"""Far more items than any school's catalog holds."""

CODE_MAX = 40
_CODE = re.compile(r"[0-9A-Z][0-9A-Z._-]*")
CODE_RULE = f"證照代碼只能包含英文字母、數字與 - _ .（以英文字母或數字開頭），最多 {CODE_MAX} 字"

CODE = Column("證照代碼", aliases=("代碼",), max_length=CODE_MAX)
NAME = Column("證照名稱", aliases=("名稱",), max_length=200)
CATEGORY = Column("證照類別", required=False, aliases=("類別",), max_length=100)
ISSUER = Column("發照單位", required=False, max_length=200)
DOMESTIC = Column("國內國外", aliases=("國內外",))
ACTIVE = Column("啟用", required=False, aliases=("是否啟用",))
CATALOG_COLUMNS = (CODE, NAME, CATEGORY, ISSUER, DOMESTIC, ACTIVE)

DOMESTIC_VALUES = {"國內": True, "國外": False}
ACTIVE_VALUES = {"是": True, "否": False, "Y": True, "N": False, "TRUE": True, "FALSE": False}


def normalise_code(code: str) -> str:
    """How a 證照代碼 is stored and compared (the one rule, in `categories`)."""
    return normalise_certificate_code(code)


def valid_code(code: str) -> bool:
    """Whether a normalised 證照代碼 has an acceptable shape."""
    return len(code) <= CODE_MAX and _CODE.fullmatch(code) is not None


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """A valid catalog row; `row` is its file row."""

    code: str
    name: str
    category: str | None
    issuer: str | None
    domestic: bool
    active: bool
    row: int


def read_catalog_table(data: bytes, filename: str) -> Table:
    """Read a catalog xlsx or CSV file (the first sheet of a workbook)."""
    return read_table(data, filename, max_rows=MAX_CATALOG_ROWS)


def parse_catalog(table: Table) -> ParseResult[CatalogRow]:
    """Validate the whole catalog: every problem, sorted by (row, column)."""
    sheet = Sheet(table, CATALOG_COLUMNS)
    codes = FirstSeen()
    rows: list[CatalogRow] = []
    for reader in sheet.rows():
        code = reader.text(CODE, identifier=True)
        if code is not None and not valid_code(code):
            reader.error(CODE, "certificate_code_invalid", CODE_RULE)
            code = None
        if code is not None and (first := codes.earlier(code, reader.row)):
            reader.error(CODE, "duplicate_code", f"與第 {first} 列的證照代碼重複")
        name = reader.text(NAME)
        category = reader.text(CATEGORY)
        issuer = reader.text(ISSUER)
        domestic = reader.coded(
            DOMESTIC, DOMESTIC_VALUES.get, code="domestic_invalid", hint="國內 或 國外"
        )
        active = reader.coded(ACTIVE, ACTIVE_VALUES.get, code="active_invalid", hint="是 或 否")
        if reader.failed or code is None or name is None or domestic is None:
            continue
        rows.append(
            CatalogRow(
                code=code,
                name=name,
                category=category,
                issuer=issuer,
                domestic=domestic,
                active=True if active is None else active,
                row=reader.row,
            )
        )
    return sheet.result(rows)


_NOTES = {
    "證照代碼": ("是", "學校自訂或國教署的證照代碼；英文字母、數字與 - _ .，最多 40 字", "A0001"),
    "證照名稱": ("是", "學生下拉選單顯示的名稱", "電腦軟體應用乙級"),
    "證照類別": ("否", "例如 技術士證、語文檢定", "技術士證"),
    "發照單位": ("否", "核發證照的機關或機構", "勞動部勞動力發展署"),
    "國內國外": ("是", "國內 或 國外", "國內"),
    "啟用": ("否", "是 或 否；空白視為 是。停用的項目學生無法再選用，已填寫的紀錄不受影響", "是"),
}
_USAGE = (
    "請在第一個工作表填入學校完整的檢定證照清單（每次匯入皆為完整清單）："
    "檔案中的項目會新增或更新，目前清單中未出現在檔案裡的項目會停用（不會刪除）。"
    "第 1 列為欄位名稱，欄位順序可調整，多餘的欄位會略過；任一列有誤時整份檔案都不會寫入。"
)


def template_xlsx() -> bytes:
    """An xlsx template: a 檢定證照 sheet with the header row, and a 說明 sheet with notes."""
    return template_workbook(
        "檢定證照",
        CATALOG_COLUMNS,
        _NOTES,
        text_columns=frozenset({"證照代碼"}),
        choices={"國內國外": ("國內", "國外"), "啟用": ("是", "否")},
        usage=_USAGE,
        column_widths={"證照名稱": 30, "發照單位": 24},
    )
