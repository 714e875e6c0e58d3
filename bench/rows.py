"""A row of the suite's table and the table itself (light: the roster benchmark's child
processes import it)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

HEADER = ("id", "what", "figure", "reference (same run)", "ratio", "goal", "holds?")


@dataclass(frozen=True)
class Row:
    """One line of the suite's table: a figure, its reference from the same run, the goal."""

    id: str
    what: str
    figure: str
    reference: str
    ratio: float | None
    goal: str
    holds: bool | None  # None: nothing to hold (a figure printed for information)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def render(rows: list[Row]) -> str:
    """The table, as fixed-width text (CJK characters count double)."""
    cells = [HEADER] + [
        (
            r.id,
            r.what,
            r.figure,
            r.reference,
            "—" if r.ratio is None else f"{r.ratio:.2f}×",
            r.goal,
            "—" if r.holds is None else ("yes" if r.holds else "NO"),
        )
        for r in rows
    ]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(HEADER))]
    lines = [
        " | ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)
