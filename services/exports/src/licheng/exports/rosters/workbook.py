"""The 名冊 workbook: 封面 first, then every sheet of the roster's layout, rows streamed to disk.

openpyxl's write-only workbook writes each sheet's rows to a temporary file as they come, so
memory stays flat however many rows a district has. Every sheet of the layout is created up
front with its header row, so a sheet without records still has its header.

The file is byte-identical for the same input: the document properties (creator, last
modified by, created, modified) are fixed (`fixed_time`), and the xlsx ZIP is written through
a `ZipFile` that gives every entry the same fixed time and attributes (openpyxl's own
`save_workbook` would stamp the current time on `modified` and on every entry).

Cells must come from `layout` (text already neutralised): `append` writes them as they are,
and openpyxl would take a text starting with `=` for a formula.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import zipfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from licheng.contracts.rosters import RosterCode
from licheng.exports.rosters.archive import CHUNK_SIZE, DateTime, zip_date_time, zip_entry
from licheng.exports.rosters.cells import Cell
from licheng.exports.rosters.layout import COVER_COLUMNS, COVER_SHEET, cover_row, roster_sheets

AUTHOR = "licheng"
MAX_ROWS = 1_048_576  # Excel's rows per sheet, the header included


class _FixedTimeZipFile(zipfile.ZipFile):
    """A ZipFile whose entries, written by name, all get one fixed time and fixed attributes."""

    def __init__(self, path: Path, *, date_time: DateTime) -> None:
        super().__init__(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._fixed_date_time = date_time

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: Any,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        """As `ZipFile.writestr`, an entry named by text getting the fixed time."""
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = zip_entry(zinfo_or_arcname, self._fixed_date_time)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(
        self,
        filename: str | os.PathLike[str],
        arcname: str | os.PathLike[str] | None = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        """As `ZipFile.write` (streamed), but with the fixed time instead of the file's."""
        name = os.fspath(arcname if arcname is not None else filename)
        info = zip_entry(name, self._fixed_date_time)
        with open(filename, "rb") as source, self.open(info, "w") as target:
            shutil.copyfileobj(source, target, CHUNK_SIZE)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


class RosterWorkbookWriter:
    """Writes one 名冊 workbook at `path`: `append` rows by sheet name, then `close` (synchronous).

    The cover row (學校代碼, 學年度, 學期, 名冊別) follows `layout.cover_row`'s rule for 學期.
    """

    def __init__(
        self,
        path: Path,
        *,
        roster_code: RosterCode,
        fixed_time: datetime,
        school_code: str,
        academic_year: int,
        semester: int,
    ) -> None:
        self.path = path
        self.roster_code = roster_code
        self._date_time = zip_date_time(fixed_time)
        self._workbook = Workbook(write_only=True)
        moment = _naive_utc(fixed_time)
        properties = self._workbook.properties
        properties.creator = AUTHOR
        properties.lastModifiedBy = AUTHOR
        properties.created = moment
        properties.modified = moment
        self._sheets: dict[str, WriteOnlyWorksheet] = {}
        self._counts: dict[str, int] = {}
        self._closed = False
        cover = self._new_sheet(COVER_SHEET, COVER_COLUMNS)
        cover.append(
            cover_row(
                school_code=school_code,
                academic_year=academic_year,
                semester=semester,
                roster_code=roster_code,
            )
        )
        for sheet in roster_sheets(roster_code):
            self._sheets[sheet.name] = self._new_sheet(sheet.name, sheet.columns)
            self._counts[sheet.name] = 0

    def _new_sheet(self, name: str, columns: Sequence[str]) -> WriteOnlyWorksheet:
        sheet = self._workbook.create_sheet(name)
        assert isinstance(sheet, WriteOnlyWorksheet)
        sheet.append(list(columns))
        return sheet

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is not None:
            self.abandon()

    @property
    def counts(self) -> dict[str, int]:
        """Rows written per record sheet (headers not counted), in layout order."""
        return dict(self._counts)

    def append(self, sheet_name: str, cells: Sequence[Cell]) -> None:
        """Append one row (cells from `layout`) to a record sheet of the roster."""
        count = self._counts[sheet_name] + 1
        if count >= MAX_ROWS:
            raise ValueError(f"工作表「{sheet_name}」超過 Excel 每張工作表 {MAX_ROWS} 列的上限")
        self._sheets[sheet_name].append(cells)
        self._counts[sheet_name] = count

    def close(self) -> None:
        """Finish every sheet and write the workbook."""
        if self._closed:
            raise ValueError("the workbook is closed")
        self._closed = True
        archive = _FixedTimeZipFile(self.path, date_time=self._date_time)
        try:
            ExcelWriter(self._workbook, archive).save()
        except BaseException:
            archive.close()
            self.path.unlink(missing_ok=True)
            self._remove_temporary_files()
            raise

    def _remove_temporary_files(self) -> None:
        for sheet in self._workbook.worksheets:
            writer = sheet._writer
            if writer is None:
                continue
            with contextlib.suppress(OSError, ValueError, KeyError):
                if not sheet.closed:
                    sheet.close()
            with contextlib.suppress(OSError, ValueError, KeyError):
                writer.cleanup()  # removes openpyxl's temporary file and forgets it

    def abandon(self) -> None:
        """Give up on a workbook half written: remove the temporary files and the output."""
        if not self._closed:
            self._closed = True
            self._remove_temporary_files()
        self.path.unlink(missing_ok=True)
