"""Server-side SVG charts (no JavaScript): accessible markup, readable on a 375 px phone.

Every chart is an `<svg role="img">` with an `aria-label`, a `<title>` and a `<desc>` that says in
words what the bars show, a legend in text, and a `viewBox` so it scales to the page's width.
Labels come from data (names, class codes): everything written into the markup is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

# Layout of the horizontal stacked bars, in viewBox units (the SVG scales to its container).
WIDTH = 360
LABEL_WIDTH = 104
COUNT_WIDTH = 32
BAR_AREA = WIDTH - LABEL_WIDTH - COUNT_WIDTH - 8
ROW_HEIGHT = 26
BAR_HEIGHT = 18
LEGEND_ROW = 22
LEGEND_ITEM = 88
FONT = 13
LABEL_CHARS = 8


def _text(value: object) -> str:
    """Text or an attribute value, escaped (quotes too)."""
    return escape(str(value), quote=True)


def _short(label: str) -> str:
    """A label cut to fit the label column (the whole label stays in the bar's <title>)."""
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _number(value: float) -> str:
    """A coordinate without needless decimals."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def describe(
    rows: Sequence[tuple[str, Mapping[str, int]]], series_titles: Mapping[str, str]
) -> str:
    """The data in words: each row's counts per series (the chart's <desc>)."""
    parts = []
    for label, counts in rows:
        values = "、".join(f"{title} {counts.get(key, 0)}" for key, title in series_titles.items())
        parts.append(f"{label}：{values}")
    return "；".join(parts) if parts else "沒有資料"


def stacked_bars(
    rows: Sequence[tuple[str, Mapping[str, int]]],
    series_titles: Mapping[str, str],
    colours: Mapping[str, str],
    *,
    title: str,
    description: str | None = None,
) -> str:
    """Horizontal stacked bars, one per row, each split by series in `series_titles` order.

    Bar lengths are proportional to the counts (the longest row fills the bar area); a row with
    nothing shows no bar and its total 0. Returns SVG markup with every label escaped.
    """
    keys = list(series_titles)
    totals = [sum(max(counts.get(k, 0), 0) for k in keys) for _, counts in rows]
    scale = BAR_AREA / max(max(totals, default=0), 1)
    per_line = max(WIDTH // LEGEND_ITEM, 1)
    legend_lines = (len(keys) + per_line - 1) // per_line
    top = legend_lines * LEGEND_ROW + 8
    height = top + max(len(rows), 1) * ROW_HEIGHT + 4
    desc = description if description is not None else describe(rows, series_titles)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'aria-label="{_text(title)}" font-size="{FONT}">',
        f"<title>{_text(title)}</title>",
        f"<desc>{_text(desc)}</desc>",
        '<g class="legend">',
    ]
    for index, key in enumerate(keys):
        x = (index % per_line) * LEGEND_ITEM
        y = (index // per_line) * LEGEND_ROW
        out.append(
            f'<rect x="{x}" y="{y + 4}" width="14" height="14" '
            f'fill="{_text(colours.get(key, "#7b8794"))}"/>'
            f'<text x="{x + 19}" y="{y + 16}">{_text(series_titles[key])}</text>'
        )
    out.append("</g>")
    if not rows:
        out.append(f'<text x="0" y="{top + 17}">沒有資料</text>')
    for row_index, ((label, counts), total) in enumerate(zip(rows, totals, strict=True)):
        y = top + row_index * ROW_HEIGHT
        out.append(f'<g class="bar"><title>{_text(label)}：共 {total}</title>')
        out.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end">'
            f"{_text(_short(label))}</text>"
        )
        left = float(LABEL_WIDTH)
        for key in keys:
            count = max(counts.get(key, 0), 0)
            if count == 0:
                continue
            width = count * scale
            out.append(
                f'<rect x="{_number(left)}" y="{y}" width="{_number(width)}" height="{BAR_HEIGHT}" '
                f'fill="{_text(colours.get(key, "#7b8794"))}" data-series="{_text(key)}" '
                f'data-count="{count}"><title>{_text(label)} {_text(series_titles[key])}：'
                f"{count}</title></rect>"
            )
            left += width
        out.append(f'<text x="{_number(left + 4)}" y="{y + 14}">{total}</text></g>')
    out.append("</svg>")
    return "".join(out)


# Course outcomes by state: every outcome is in exactly one of these.
OUTCOME_SERIES: dict[str, str] = {
    "draft": "未送審",
    "submitted": "認證中",
    "certified": "認證成功",
    "failed": "認證失敗",
}
OUTCOME_COLOURS: dict[str, str] = {
    "draft": "#9aa5b1",
    "submitted": "#d69e2e",
    "certified": "#1e7b34",
    "failed": "#b42318",
}


def outcome_states(counts: Mapping[str, Any]) -> dict[str, int]:
    """A status row's outcomes by state (未送審 is all filled ones less those sent or decided)."""
    sent = int(counts["submitted"]) + int(counts["certified"]) + int(counts["failed"])
    return {
        "draft": max(int(counts["filled"]) - sent, 0),
        "submitted": int(counts["submitted"]),
        "certified": int(counts["certified"]),
        "failed": int(counts["failed"]),
    }


def outcome_chart(rows: Sequence[tuple[str, Mapping[str, Any]]], *, title: str) -> str:
    """Stacked bars of course outcomes by state, one bar per labelled status row."""
    data = [(label, outcome_states(counts)) for label, counts in rows]
    return stacked_bars(data, OUTCOME_SERIES, OUTCOME_COLOURS, title=title)
