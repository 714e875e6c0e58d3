"""The 收訖明細 beside what was submitted: per sheet, each received record paired with the
submitted row most like it, field by field.

Values are compared as text after light normalisation (spaces trimmed, `2.0` as `2`, dates as
`YYYY/MM/DD` whichever separator or padding). Only fields both sides have are compared; a
field only the receipt has is shown, not marked. The submitted sheet 幹部經歷紀錄 (名冊 24's
template name) is the receipt's 幹部經歷.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Receipt sheet name → the sheet name Licheng's 名冊 wrote (DOMAIN §3.4 / §3.5).
SHEET_ALIASES: Mapping[str, str] = {"幹部經歷": "幹部經歷紀錄"}
_DATE = re.compile(r"(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})(?:[ T].*)?")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def normalise(value: Any) -> str:
    """A value as compared: text, trimmed, numbers and dates in one form."""
    if value is None:
        return ""
    text = str(value).strip()
    if m := _DATE.fullmatch(text):
        return f"{int(m.group(1)):04d}/{int(m.group(2)):02d}/{int(m.group(3)):02d}"
    if _NUMBER.fullmatch(text):
        number = float(text)
        return str(int(number)) if number.is_integer() else str(number)
    return text


@dataclass(frozen=True)
class ComparedRecord:
    """A received record, the submitted row it pairs with (if any) and the fields that differ."""

    record_id: uuid.UUID
    sheet: str
    received: dict[str, Any]
    submitted: dict[str, Any] | None
    differences: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """same | different | not_submitted."""
        if self.submitted is None:
            return "not_submitted"
        return "different" if self.differences else "same"


@dataclass(frozen=True)
class ComparedSheet:
    """One sheet: the received records, and the submitted rows the receipt does not have."""

    sheet: str
    records: list[ComparedRecord]
    missing: list[dict[str, Any]]


def _differences(received: Mapping[str, Any], submitted: Mapping[str, Any]) -> list[str]:
    return [
        name
        for name, value in received.items()
        if name in submitted and normalise(value) != normalise(submitted[name])
    ]


def compare_sheet(
    sheet: str,
    received: Sequence[tuple[uuid.UUID, dict[str, Any]]],
    submitted: Sequence[dict[str, Any]],
) -> ComparedSheet:
    """Pair each received record with the unpaired submitted row having fewest differences."""
    left = list(range(len(submitted)))
    records: list[ComparedRecord] = []
    for record_id, fields in received:
        best: int | None = None
        best_diff: list[str] = []
        for index in left:
            diff = _differences(fields, submitted[index])
            if best is None or len(diff) < len(best_diff):
                best, best_diff = index, diff
        if best is None:
            records.append(ComparedRecord(record_id, sheet, fields, None))
            continue
        left.remove(best)
        records.append(ComparedRecord(record_id, sheet, fields, submitted[best], best_diff))
    return ComparedSheet(sheet, records, [submitted[i] for i in left])


def compare_roster(
    received: Sequence[tuple[uuid.UUID, str, dict[str, Any]]],
    submitted: Sequence[tuple[str, dict[str, Any]]],
) -> list[ComparedSheet]:
    """Every sheet either side has, received sheets first in their order."""
    by_sheet: dict[str, list[tuple[uuid.UUID, dict[str, Any]]]] = {}
    for record_id, sheet, fields in received:
        by_sheet.setdefault(sheet, []).append((record_id, fields))
    rows_by_sheet: dict[str, list[dict[str, Any]]] = {}
    for sheet, fields in submitted:
        rows_by_sheet.setdefault(sheet, []).append(fields)
    sheets: list[ComparedSheet] = []
    for sheet, records in by_sheet.items():
        sheets.append(
            compare_sheet(sheet, records, rows_by_sheet.pop(SHEET_ALIASES.get(sheet, sheet), []))
        )
    for sheet, rows in rows_by_sheet.items():
        sheets.append(ComparedSheet(sheet, [], rows))
    return sheets
