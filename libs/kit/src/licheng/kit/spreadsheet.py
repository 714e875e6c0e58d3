"""Downloadable xlsx reports: one sheet, a bold zh-TW header, rows written page by page.

A report is written with openpyxl's write-only workbook (rows go straight to disk, so memory
stays flat however many rows there are) to a temporary file, off the event loop, and streamed
back in chunks; the file is removed once the answer is sent (or abandoned).

- `xlsx_download`: pages of rows in (an async iterable, e.g. one database page at a time), a
  streamed `attachment` answer out;
- `report_download`: a `Report` (a list's name, headings and cells) of every row a paged
  `Fetch` returns, one query per page (`fetched_pages`), with the chosen filters as a note;
- `ReportWriter`: the synchronous writer underneath (run it in a worker thread);
- `roc_date` / `roc_datetime`: dates as schools write them, 民國 year in Taiwan time
  (`115/09/01`, `115/09/01 08:00`); date and datetime cells are rendered through them;
- `display_width`: a text's width in columns, CJK characters counting double;
- `content_disposition`: an `attachment` header with an ASCII fallback and an RFC 5987 name.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import anyio
import anyio.to_thread
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from licheng.kit.tabular.guard import in_worker
from licheng.kit.timeutil import TAIPEI, utcnow

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": "xlsx 活頁簿（全部資料列，不分頁）", "content": {XLSX_MEDIA_TYPE: {}}}
}
"""The OpenAPI `responses` of a route answering a workbook download."""
XLSX_TEMPLATE_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": "匯入範本（xlsx 活頁簿）", "content": {XLSX_MEDIA_TYPE: {}}}
}
"""The OpenAPI `responses` of a route answering an import's empty template."""

CellValue = str | int | float | Decimal | bool | date | datetime | None
"""What a report cell may hold; dates and datetimes are written as 民國 text."""

Row = Sequence[CellValue]

FETCH_PAGE = 1000
"""Rows per database page when a whole list is downloaded."""

T = TypeVar("T")

ROC_OFFSET = 1911
MIN_WIDTH = 6
MAX_WIDTH = 60
WIDTH_PADDING = 2
CHUNK_SIZE = 64 * 1024
MAX_TITLE = 31  # Excel's limit on a sheet name
_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _roc_year(year: int) -> int:
    roc = year - ROC_OFFSET
    if roc < 1:
        raise ValueError(f"民國紀年不適用於西元 {year} 年")
    return roc


def _in_taipei(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a datetime without a time zone cannot be shown in Taiwan time")
    return value.astimezone(TAIPEI)


def roc_date(value: date | datetime) -> str:
    """A date as `115/09/01` (民國 year); a datetime is first taken to Taiwan time."""
    day = _in_taipei(value).date() if isinstance(value, datetime) else value
    return f"{_roc_year(day.year)}/{day.month:02d}/{day.day:02d}"


def roc_datetime(value: datetime) -> str:
    """A moment as `115/09/01 08:00`: 民國 date and minutes in Taiwan time (naive refused)."""
    local = _in_taipei(value)
    return f"{roc_date(local.date())} {local.hour:02d}:{local.minute:02d}"


def display_width(text: str) -> int:
    """How many columns a text takes: wide (CJK, full-width) characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def cell_text(value: CellValue) -> str:
    """A cell as it is shown: dates as 民國 text, booleans as 是/否, the rest as written."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return roc_datetime(value)
    if isinstance(value, date):
        return roc_date(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


def column_widths(headings: Sequence[str], rows: Sequence[Row]) -> list[int]:
    """A width per column fitting its heading and the sample rows, within sane bounds."""
    widths = [display_width(h) for h in headings]
    for row in rows:
        for index, value in enumerate(row[: len(widths)]):
            widths[index] = max(widths[index], display_width(cell_text(value)))
    return [min(MAX_WIDTH, max(MIN_WIDTH, w + WIDTH_PADDING)) for w in widths]


def sheet_title(title: str) -> str:
    """A sheet name Excel accepts: no `[]:*?/\\`, at most 31 characters."""
    cleaned = _TITLE_FORBIDDEN.sub("_", title).strip("' ")
    return cleaned[:MAX_TITLE] or "工作表1"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _FALLBACK_UNSAFE.sub("_", folded).strip("._")


def content_disposition(filename: str, fallback: str | None = None) -> str:
    """`attachment` with an ASCII `filename` for old clients and the real one as `filename*`."""
    name = filename.replace("\r", "").replace("\n", "").replace("/", "_").replace("\\", "_")
    stem, dot, extension = (fallback or name).rpartition(".")
    if not dot:
        stem, extension = extension, ""
    ascii_name = _ascii(stem) or "download"
    if _ascii(extension):
        ascii_name += "." + _ascii(extension)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


class ReportWriter:
    """A one-sheet write-only workbook written to `path` page by page; synchronous.

    Column widths are fitted to the header and the first page written (they must be known
    before the first row reaches the file); the header row is bold and frozen (`A2`).
    """

    def __init__(self, path: Path, *, title: str, headings: Sequence[str]) -> None:
        self.path = path
        self.headings = list(headings)
        self.rows_written = 0
        self._workbook = Workbook(write_only=True)
        self._workbook.properties.title = title
        self._workbook.properties.creator = "licheng"
        sheet = self._workbook.create_sheet(sheet_title(title))
        assert isinstance(sheet, WriteOnlyWorksheet)
        sheet.freeze_panes = "A2"
        self._sheet = sheet
        self._started = False
        self._bold = Font(bold=True)

    def _start(self, sample: Sequence[Row]) -> None:
        for index, width in enumerate(column_widths(self.headings, sample), start=1):
            self._sheet.column_dimensions[get_column_letter(index)].width = width
        header = []
        for heading in self.headings:
            cell = WriteOnlyCell(self._sheet, value=heading)
            cell.font = self._bold
            header.append(cell)
        self._sheet.append(header)
        self._started = True

    def _cell(self, value: CellValue) -> Any:
        if isinstance(value, date | bool):
            return cell_text(value)
        if isinstance(value, str):
            text = ILLEGAL_CHARACTERS_RE.sub("", value)
            if text.startswith("="):
                # Text, never a formula: a name typed as "=HYPERLINK(...)" stays a name.
                cell = WriteOnlyCell(self._sheet, value=text)
                cell.data_type = "s"
                return cell
            return text
        return value

    def write(self, rows: Sequence[Row]) -> None:
        """Append one page of rows (the first page also fixes the column widths)."""
        if not self._started:
            self._start(rows)
        for row in rows:
            self._sheet.append([self._cell(v) for v in row])
        self.rows_written += len(rows)

    def finish(self, notes: Sequence[str] = ()) -> None:
        """Write the notes below the rows (after a blank row) and save the workbook."""
        if not self._started:
            self._start([])
        if notes:
            self._sheet.append([])
            for note in notes:
                self._sheet.append([self._cell(note)])
        self._workbook.save(str(self.path))

    def abandon(self) -> None:
        """Give up on a report half written: close the sheet and remove openpyxl's own file."""
        sheet = self._sheet
        writer = sheet._writer
        if writer is None:
            return
        try:
            if not sheet.closed:
                sheet.close()
        finally:
            with contextlib.suppress(OSError, ValueError):
                writer.cleanup()  # removes the file and forgets it


def _new_temporary_file() -> Path:
    handle, name = tempfile.mkstemp(prefix="licheng-report-", suffix=".xlsx")
    os.close(handle)
    return Path(name)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def generated_note(now: datetime | None = None) -> str:
    """The 製表時間 line of a report, in 民國 and Taiwan time."""
    return f"製表時間：{roc_datetime(now or utcnow())}"


async def write_report(
    path: Path,
    *,
    title: str,
    headings: Sequence[str],
    pages: AsyncIterable[Sequence[Row]],
    notes: Sequence[str] = (),
) -> int:
    """Write every page to an xlsx file at `path`, each page in a worker thread; the row count."""
    writer = await in_worker(ReportWriter, path, title=title, headings=headings)
    try:
        async for page in pages:
            await in_worker(writer.write, page)
        await in_worker(writer.finish, notes)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(writer.abandon)
        raise
    return writer.rows_written


class TemporaryFileResponse(StreamingResponse):
    """Streams a file in chunks, then removes it, however the answer ends."""

    def __init__(
        self, path: Path, *, media_type: str, headers: dict[str, str], chunk_size: int = CHUNK_SIZE
    ) -> None:
        self.path = path
        self.chunk_size = chunk_size
        super().__init__(self._chunks(), media_type=media_type, headers=headers)

    async def _chunks(self) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self.path, "rb") as handle:
            while chunk := await handle.read(self.chunk_size):
                yield chunk

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_remove, self.path)


@dataclass(frozen=True, slots=True)
class Download:
    """What a report download is called: the zh-TW file name and its ASCII fallback."""

    filename: str
    fallback: str


async def xlsx_download(
    *,
    download: Download,
    title: str,
    headings: Sequence[str],
    pages: AsyncIterable[Sequence[Row]],
    notes: Sequence[str] = (),
) -> TemporaryFileResponse:
    """An xlsx `attachment` of every page's rows, written off the event loop and streamed.

    The notes (e.g. the term) are written below the rows, followed by the 製表時間.
    """
    path = await anyio.to_thread.run_sync(_new_temporary_file)
    try:
        await write_report(
            path, title=title, headings=headings, pages=pages, notes=[*notes, generated_note()]
        )
        size = (await anyio.Path(path).stat()).st_size
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_remove, path)
        raise
    headers = {
        "Content-Disposition": content_disposition(download.filename, download.fallback),
        "Content-Length": str(size),
        "Cache-Control": "no-store",
    }
    return TemporaryFileResponse(path, media_type=XLSX_MEDIA_TYPE, headers=headers)


class Fetch(Protocol[T]):
    """One page of a list: `fetch(offset=…, limit=…)`."""

    def __call__(self, *, offset: int, limit: int) -> Awaitable[list[T]]: ...


async def fetched_pages(fetch: Fetch[T], *, size: int = FETCH_PAGE) -> AsyncIterator[list[T]]:
    """Every row of a list, one page (one query) at a time."""
    offset = 0
    while True:
        rows = await fetch(offset=offset, limit=size)
        if rows:
            yield rows
        if len(rows) < size:
            return
        offset += size


@dataclass(frozen=True, slots=True)
class Report:
    """One list as a workbook: its name (sheet and file), slug, headings, and a row's cells."""

    name: str
    slug: str
    headings: tuple[str, ...]
    cells: Callable[[dict[str, Any]], Row]


async def report_download(
    report: Report,
    fetch: Fetch[dict[str, Any]],
    *,
    download: Download,
    title: str,
    notes: Sequence[str],
    filters: Sequence[str] = (),
) -> TemporaryFileResponse:
    """Every row of the list (fetched a page at a time) as an xlsx attachment."""

    async def rows() -> AsyncIterator[list[Row]]:
        async for page in fetched_pages(fetch):
            yield [report.cells(row) for row in page]

    if filters:
        notes = [*notes, "篩選條件：" + "、".join(filters)]
    return await xlsx_download(
        download=download, title=title, headings=report.headings, pages=rows(), notes=notes
    )
