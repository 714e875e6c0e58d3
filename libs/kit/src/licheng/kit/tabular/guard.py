"""Refusing hostile workbooks before they are opened, and parsing off the event loop.

An xlsx file is a ZIP archive, and a small upload can inflate to gigabytes (a "zip bomb":
a 209 KB workbook whose shared strings inflate to 200 MB). `check_workbook` reads only the
archive's directory and refuses, before anything is decompressed, a workbook whose members
would inflate past sane sizes or at a ratio no spreadsheet reaches. The sizes it checks are
binding: Python's zipfile stops at a member's declared size and fails on a CRC mismatch, so a
member that lies about its size cannot inflate further.

`in_worker` runs a parse in a worker thread, at most `PARSE_SLOTS` at a time per process, so a
big legitimate import never stalls the event loop (health checks, other requests) and a burst
of uploads cannot hold many parsed files in memory at once.
"""

from __future__ import annotations

import asyncio
import io
import weakref
import zipfile
from collections.abc import Callable
from functools import partial
from typing import ParamSpec, TypeVar

from licheng.kit.errors import BadRequest, PayloadTooLarge

MIB = 1024 * 1024
MAX_WORKSHEET_BYTES = 160 * MIB
"""A worksheet is streamed; 100,000 rows of 修課紀錄 written with inline strings are ~45 MB."""
MAX_OTHER_MEMBER_BYTES = 32 * MIB
"""Shared strings, styles and the rest are read whole into memory."""
MAX_TOTAL_BYTES = 200 * MIB
MAX_RATIO = 100
"""Spreadsheet XML compresses 5–20×; a zip bomb compresses 1,000× and more."""
RATIO_APPLIES_ABOVE = 2 * MIB
MAX_MEMBERS = 10_000
MAX_COLUMNS = 200
"""More header columns than any import has; wider sheets are refused, not read."""
PARSE_SLOTS = 2

P = ParamSpec("P")
T = TypeVar("T")
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _suspicious(message: str) -> BadRequest:
    return BadRequest(message, code="workbook_suspicious")


def _too_large(detail: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"活頁簿解壓縮後過大（{detail}），請只保留要匯入的工作表與資料，或改存成 CSV 後再匯入",
        code="workbook_too_large",
    )


def check_workbook(data: bytes) -> None:
    """Refuse an xlsx archive that would inflate too far; never decompresses anything."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise BadRequest(
            "檔案不是有效的 Excel（.xlsx）活頁簿，可能已損毀", code="file_unreadable"
        ) from exc
    if len(members) > MAX_MEMBERS:
        raise _suspicious("活頁簿內含的檔案數量異常，拒絕讀取")
    total = 0
    for member in members:
        size = member.file_size
        total += size
        worksheet = member.filename.startswith("xl/worksheets/")
        if size > (MAX_WORKSHEET_BYTES if worksheet else MAX_OTHER_MEMBER_BYTES):
            raise _too_large(f"{member.filename} 約 {size // MIB} MB")
        if size > RATIO_APPLIES_ABOVE and size > MAX_RATIO * max(member.compress_size, 1):
            raise _suspicious("活頁簿的壓縮比例異常（可能是惡意的壓縮炸彈檔案），拒絕讀取")
    if total > MAX_TOTAL_BYTES:
        raise _too_large(f"共約 {total // MIB} MB")


def _parse_slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(PARSE_SLOTS)
    return slots


async def in_worker(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a (CPU-heavy, synchronous) parse in a worker thread, a few at a time."""
    async with _parse_slots():
        return await asyncio.to_thread(partial(func, *args, **kwargs))
