"""Workbooks for the importers' tests: plain ones, and real xlsx files with a member that
inflates (zip bombs)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence

import openpyxl

MIB = 1024 * 1024


def xlsx_bytes(
    header: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    sheet_name: str = "工作表1",
    write_only: bool = True,
) -> bytes:
    """A workbook with one sheet: the header row, then the rows.

    `write_only=False` keeps text in xl/sharedStrings.xml, as Excel itself does.
    """
    book = openpyxl.Workbook(write_only=write_only)
    if write_only:
        sheet = book.create_sheet(sheet_name)
    else:
        sheet = book.active
        assert sheet is not None
        sheet.title = sheet_name
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_bomb_xlsx(
    header: list[str], rows: list[list[object]], *, inflated_mib: int, member: str
) -> bytes:
    """A valid workbook whose `member` (e.g. xl/sharedStrings.xml) is replaced by `inflated_mib`
    MiB of one repeated character: a few hundred KB on the wire, huge once opened."""
    original = zipfile.ZipFile(io.BytesIO(xlsx_bytes(header, rows, write_only=False)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for info in original.infolist():
            if info.filename != member:
                bomb.writestr(info, original.read(info.filename))
        with bomb.open(member, "w", force_zip64=True) as handle:
            handle.write(b'<?xml version="1.0" encoding="UTF-8"?>')
            handle.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            handle.write(b"<si><t>")
            chunk = b"a" * MIB
            for _ in range(inflated_mib):
                handle.write(chunk)
            handle.write(b"</t></si></sst>")
    return out.getvalue()
