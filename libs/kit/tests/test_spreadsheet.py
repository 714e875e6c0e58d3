"""The kit's xlsx report writer: 民國 dates in Taiwan time, CJK-aware widths, the header,
and the streamed download that removes its temporary file."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from openpyxl.worksheet._writer import ALL_TEMP_FILES

from licheng.kit import spreadsheet
from licheng.kit.spreadsheet import (
    MAX_WIDTH,
    MIN_WIDTH,
    XLSX_MEDIA_TYPE,
    CellValue,
    Download,
    Report,
    ReportWriter,
    column_widths,
    content_disposition,
    display_width,
    fetched_pages,
    report_download,
    roc_date,
    roc_datetime,
    sheet_title,
    write_report,
    xlsx_download,
)

HEADINGS = ("班級", "座號", "學號", "姓名", "已填寫", "最近送審時間")


def test_roc_dates_are_minguo_years_in_taipei_time() -> None:
    assert roc_date(date(2026, 9, 1)) == "115/09/01"
    assert roc_date(date(1912, 1, 1)) == "1/01/01"
    assert roc_datetime(datetime(2026, 9, 1, 0, 0, tzinfo=UTC)) == "115/09/01 08:00"
    # Another offset is the same instant: 09:30 in Tokyo is 08:30 in Taipei.
    tokyo = timezone(timedelta(hours=9))
    assert roc_datetime(datetime(2026, 9, 1, 9, 30, tzinfo=tokyo)) == "115/09/01 08:30"


def test_the_year_turns_at_midnight_in_taipei_not_utc() -> None:
    # 2026-12-31 16:30 UTC is already 2027-01-01 00:30 in Taiwan: 民國 116.
    new_year = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert roc_datetime(new_year) == "116/01/01 00:30"
    assert roc_date(new_year) == "116/01/01"
    # A minute before midnight in Taiwan it is still 民國 115.
    last_minute = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)
    assert roc_datetime(last_minute) == "115/12/31 23:59"
    assert roc_date(last_minute) == "115/12/31"
    # A plain date is a calendar day already: no conversion.
    assert roc_date(date(2026, 12, 31)) == "115/12/31"


def test_naive_datetimes_and_years_before_the_republic_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        roc_datetime(datetime(2026, 9, 1, 8, 0))
    with pytest.raises(ValueError, match="time zone"):
        roc_date(datetime(2026, 9, 1, 8, 0))
    with pytest.raises(ValueError, match="1911"):
        roc_date(date(1911, 12, 31))


def test_cjk_characters_count_double() -> None:
    assert display_width("") == 0
    assert display_width("110001") == 6
    assert display_width("林同學") == 6
    assert display_width("Ａ１") == 4  # full-width letters and digits
    assert display_width("101班 A") == 7
    assert display_width("（）、") == 6


def test_widths_fit_heading_and_sample_within_bounds() -> None:
    widths = column_widths(
        ["班", "學號", "科目名稱", "說明"],
        [[1, "110001", "國語文", "很長" * 50], ["101", None, "數學", None]],
    )
    assert widths[0] == MIN_WIDTH  # "班" (2) and "101" (3) are narrow: at least MIN_WIDTH
    assert widths[1] == 6 + 2  # 學號 (4) < "110001" (6), plus padding
    assert widths[2] == 8 + 2  # 科目名稱 (8) > 國語文 (6)
    assert widths[3] == MAX_WIDTH  # capped
    dated = column_widths(["時間"], [[datetime(2026, 9, 1, tzinfo=UTC)]])
    assert dated == [len("115/09/01 08:00") + 2]


def test_sheet_titles_are_ones_excel_accepts() -> None:
    assert sheet_title("學生填寫狀況 115-1") == "學生填寫狀況 115-1"
    assert sheet_title("a/b:c*d?[e]") == "a_b_c_d__e_"
    assert len(sheet_title("很" * 40)) == 31
    assert sheet_title("") == "工作表1"


def test_content_disposition_has_an_ascii_fallback_and_the_utf8_name() -> None:
    header = content_disposition("課程學習成果_學生填寫狀況_115-1.xlsx", "students-115-1.xlsx")
    assert header.startswith('attachment; filename="students-115-1.xlsx"; ')
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert encoded.isascii()
    assert " " not in encoded
    assert '"' not in encoded
    assert unquote(encoded) == "課程學習成果_學生填寫狀況_115-1.xlsx"
    # Without a fallback the ASCII part is made from the name, keeping its extension.
    derived = content_disposition('報表"\r\n.xlsx')
    assert 'filename="download.xlsx"' in derived
    assert "\r" not in derived
    assert "\n" not in derived
    assert unquote(derived.split("''", 1)[1]) == '報表".xlsx'


def _rows() -> list[list[CellValue]]:
    return [
        ["101", 1, "110001", "林同學", 2, datetime(2026, 12, 31, 16, 30, tzinfo=UTC)],
        ["101", 2, "110002", '=HYPERLINK("http://x")', 0, None],
        ["102", None, "110003", "張\x07同學", 1, date(2026, 9, 1)],
    ]


def _load(data: bytes | Path) -> Any:
    source = BytesIO(data) if isinstance(data, bytes) else data
    return openpyxl.load_workbook(source)


def test_report_writer_writes_a_bold_frozen_header_and_roc_dates(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    writer = ReportWriter(path, title="學生填寫狀況 115-1", headings=HEADINGS)
    rows = _rows()
    writer.write(rows[:2])
    writer.write(rows[2:])
    writer.finish(["115 學年度第 1 學期", "製表時間：115/09/01 08:00"])
    assert writer.rows_written == 3

    book = _load(path)
    sheet = book.worksheets[0]
    assert len(book.worksheets) == 1
    assert sheet.title == "學生填寫狀況 115-1"
    assert sheet.freeze_panes == "A2"
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == list(HEADINGS)
    assert all(cell.font.b for cell in sheet[1])
    assert not sheet["A2"].font.b
    assert values[1] == ["101", 1, "110001", "林同學", 2, "116/01/01 00:30"]
    # Text that looks like a formula stays text; control characters are dropped.
    assert sheet["D3"].data_type == "s"
    assert values[2][3] == '=HYPERLINK("http://x")'
    assert values[3] == ["102", None, "110003", "張同學", 1, "115/09/01"]
    assert values[4] == [None] * 6 or values[4] == [None]  # the blank row before the notes
    assert [v[0] for v in values[5:]] == ["115 學年度第 1 學期", "製表時間：115/09/01 08:00"]
    # Widths come from the header and the first page: 姓名 fits its longest name, the date
    # column its 民國 datetime (15) + padding.
    assert sheet.column_dimensions["D"].width == pytest.approx(
        display_width('=HYPERLINK("http://x")') + 2
    )
    assert sheet.column_dimensions["F"].width == pytest.approx(15 + 2)
    assert sheet.column_dimensions["B"].width == pytest.approx(MIN_WIDTH)


def test_an_empty_report_still_has_its_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    writer = ReportWriter(path, title="空白", headings=HEADINGS)
    writer.finish()
    sheet = _load(path).worksheets[0]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [list(HEADINGS)]
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["F"].width == pytest.approx(14)


async def _pages(pages: Sequence[list[list[CellValue]]]) -> AsyncIterator[list[list[CellValue]]]:
    for page in pages:
        yield page


async def test_pages_are_written_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[int] = []
    original = ReportWriter.write

    def spy(self: ReportWriter, rows: Sequence[Sequence[CellValue]]) -> None:
        threads.append(threading.get_ident())
        original(self, rows)

    monkeypatch.setattr(ReportWriter, "write", spy)
    path = tmp_path / "paged.xlsx"
    rows = _rows()
    count = await write_report(
        path, title="paged", headings=HEADINGS, pages=_pages([rows[:1], rows[1:]])
    )
    assert count == 3
    assert len(threads) == 2
    assert threading.get_ident() not in threads
    sheet = _load(path).worksheets[0]
    assert sheet.max_row == 4


class _Sent:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def headers(self) -> dict[str, str]:
        start = self.messages[0]
        return {k.decode(): v.decode() for k, v in start["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


SCOPE = {"type": "http", "asgi": {"spec_version": "2.4"}, "method": "GET", "headers": []}


async def test_download_streams_in_chunks_and_removes_the_file() -> None:
    big = [
        [f"{100 + n % 30}", n % 40, f"{110000 + n}", f"學生{n}", n % 5, None] for n in range(3000)
    ]
    response = await xlsx_download(
        download=Download("課程學習成果_學生填寫狀況_115-1.xlsx", "course-outcomes-students.xlsx"),
        title="學生填寫狀況 115-1",
        headings=HEADINGS,
        pages=_pages([big[:1000], big[1000:2000], big[2000:]]),
        notes=["115 學年度第 1 學期"],
    )
    path = response.path
    assert path.exists()
    sent = _Sent()
    await response(SCOPE, _receive, sent)
    assert not path.exists()
    headers = sent.headers
    assert headers["content-type"] == XLSX_MEDIA_TYPE
    assert headers["content-disposition"].startswith(
        "attachment; filename=\"course-outcomes-students.xlsx\"; filename*=UTF-8''"
    )
    body = sent.body
    assert int(headers["content-length"]) == len(body)
    chunks = [m for m in sent.messages[1:] if m.get("body")]
    assert len(chunks) > 1  # streamed, not one buffer
    assert all(len(m["body"]) <= spreadsheet.CHUNK_SIZE for m in chunks)
    sheet = _load(body).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == list(HEADINGS)
    assert values[1][:5] == ["100", 0, "110000", "學生0", 0]
    assert values[3000][2] == "112999"
    assert values[-2][0] == "115 學年度第 1 學期"
    assert re.fullmatch(r"製表時間：\d{3}/\d{2}/\d{2} \d{2}:\d{2}", values[-1][0])


async def test_a_failed_download_leaves_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Path] = []
    original = spreadsheet._new_temporary_file

    def remember() -> Path:
        path = original()
        made.append(path)
        return path

    monkeypatch.setattr(spreadsheet, "_new_temporary_file", remember)

    async def broken() -> AsyncIterator[list[list[CellValue]]]:
        yield [["101", 1, "110001", "林同學", 1, None]]
        raise RuntimeError("the database went away")

    before = set(ALL_TEMP_FILES)
    with pytest.raises(RuntimeError, match="went away"):
        await xlsx_download(
            download=Download("x.xlsx", "x.xlsx"), title="x", headings=HEADINGS, pages=broken()
        )
    assert len(made) == 1
    assert not made[0].exists()
    assert set(ALL_TEMP_FILES) == before  # openpyxl's own sheet file is gone too


def _fetcher(total: int, calls: list[tuple[int, int]]) -> Any:
    async def fetch(*, offset: int, limit: int) -> list[dict[str, Any]]:
        calls.append((offset, limit))
        return [{"n": n} for n in range(offset, min(offset + limit, total))]

    return fetch


@pytest.mark.parametrize(("total", "queries"), [(0, 1), (5, 2), (6, 3), (7, 3)])
async def test_fetched_pages_query_page_by_page_until_a_short_page(
    total: int, queries: int
) -> None:
    calls: list[tuple[int, int]] = []
    pages = [page async for page in fetched_pages(_fetcher(total, calls), size=3)]
    assert [row["n"] for page in pages for row in page] == list(range(total))
    assert all(pages)  # an empty last page is not yielded
    assert calls == [(3 * i, 3) for i in range(queries)]


async def test_a_report_download_writes_every_fetched_row_and_the_filters() -> None:
    report = Report(name="名單", slug="list", headings=("序號",), cells=lambda r: [r["n"]])
    response = await report_download(
        report,
        _fetcher(2500, []),
        download=Download("名單.xlsx", "list.xlsx"),
        title="名單",
        notes=["115 學年度"],
        filters=["1 年級", "班級 101"],
    )
    sent = _Sent()
    await response(SCOPE, _receive, sent)
    values = [list(r) for r in _load(sent.body).worksheets[0].iter_rows(values_only=True)]
    assert values[0] == ["序號"]
    assert [v[0] for v in values[1:2501]] == list(range(2500))
    assert [v[0] for v in values[-3:-1]] == ["115 學年度", "篩選條件：1 年級、班級 101"]
