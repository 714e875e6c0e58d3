"""The server-side SVG charts: proportional bars, empty data, escaping and accessibility."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from licheng.web.charts import BAR_AREA, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"
SERIES = {"draft": "未送審", "certified": "認證成功"}
COLOURS = {"draft": "#9aa5b1", "certified": "#1e7b34"}


def _parse(markup: str) -> ElementTree.Element:
    """The chart as XML (markup this module built, not untrusted input)."""
    return ElementTree.fromstring(markup)  # noqa: S314


def _bars(markup: str) -> list[tuple[str, float]]:
    """Each drawn segment: its series and width."""
    root = _parse(markup)
    return [
        (rect.attrib["data-series"], float(rect.attrib["width"]))
        for rect in root.iter(f"{SVG}rect")
        if "data-series" in rect.attrib
    ]


def test_bar_lengths_are_proportional_to_counts() -> None:
    markup = stacked_bars(
        [("01 林同學", {"draft": 1, "certified": 3}), ("02 吳同學", {"draft": 2})],
        SERIES,
        COLOURS,
        title="班級 101",
    )
    bars = _bars(markup)
    assert bars[0] == ("draft", BAR_AREA / 4)
    assert bars[1] == ("certified", BAR_AREA * 3 / 4)
    assert bars[2] == ("draft", BAR_AREA / 2)
    assert "未送審" in markup
    assert "認證成功" in markup


def test_zero_totals_draw_no_bars_and_no_division_by_zero() -> None:
    markup = stacked_bars([("01 林同學", {}), ("02 吳同學", {"draft": 0})], SERIES, COLOURS,
                          title="班級 101")  # fmt: skip
    assert _bars(markup) == []
    assert markup.count(">0</text>") == 2
    assert "沒有資料" in stacked_bars([], SERIES, COLOURS, title="空")


def test_labels_from_data_are_escaped() -> None:
    evil = '<script>alert("x")</script>&'
    markup = stacked_bars([(evil, {"draft": 1})], {"draft": '"><b>'}, COLOURS, title=evil)
    assert "<script>" not in markup
    assert "<b>" not in markup
    assert "&lt;script&gt;" in markup
    assert "&amp;" in markup
    _parse(markup)  # still well-formed


def test_the_chart_is_an_accessible_image() -> None:
    markup = stacked_bars([("01 林同學", {"certified": 2})], SERIES, COLOURS,
                          title="班級 101 課程學習成果狀況")  # fmt: skip
    root = _parse(markup)
    assert root.attrib["role"] == "img"
    assert root.attrib["aria-label"] == "班級 101 課程學習成果狀況"
    assert root.find(f"{SVG}title") is not None
    desc = root.find(f"{SVG}desc")
    assert desc is not None
    assert "01 林同學：未送審 0、認證成功 2" in (desc.text or "")
    assert re.fullmatch(r"0 0 \d+ \d+", root.attrib["viewBox"])
