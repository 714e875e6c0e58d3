"""The staff file: 教師編號, 姓名 and an optional email (電子郵件)."""

from __future__ import annotations

from licheng.identity.imports.model import StaffRow
from licheng.kit.tabular import EMAIL, Column, FirstSeen, ParseResult, Sheet, Table

STAFF_NO = Column("教師編號", aliases=("教職員編號",), max_length=32)
NAME = Column("姓名")
STAFF_COLUMNS = (STAFF_NO, NAME, EMAIL)


def parse_staff(table: Table) -> ParseResult[StaffRow]:
    """Validate a staff file: 教師編號 and e-mail addresses are unique within it."""
    sheet = Sheet(table, STAFF_COLUMNS)
    numbers, emails = FirstSeen(), FirstSeen()
    rows: list[StaffRow] = []
    for reader in sheet.rows():
        staff_no = reader.text(STAFF_NO, identifier=True)
        name = reader.text(NAME)
        email = reader.email()
        if staff_no is not None and (first := numbers.earlier(staff_no, reader.row)):
            reader.error(STAFF_NO, "duplicate_staff_no", f"教師編號與第 {first} 列重複")
        if email is not None and (first := emails.earlier(email, reader.row)):
            reader.error(EMAIL, "duplicate_email", f"電子郵件與第 {first} 列重複")
        if reader.failed or staff_no is None or name is None:
            continue
        rows.append(StaffRow(staff_no=staff_no, name=name, email=email, row=reader.row))
    return sheet.result(rows)
