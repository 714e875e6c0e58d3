"""A 參數設定 form shared by the submitters' parameter pages: windows, whole-number limits and
file-size limits shown as text and sent back as a JSON merge patch of only what changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

MIB = 1024 * 1024
MAX_FILE_MB = 50
FILE_KINDS = (
    ("pdf", "PDF"),
    ("jpg", "JPG 圖片"),
    ("png", "PNG 圖片"),
    ("mp3", "MP3 音訊"),
    ("mp4", "MP4 影片"),
)
TAIPEI = ZoneInfo("Asia/Taipei")


def local_input(value: object) -> str:
    """An API moment (ISO, UTC) as a `datetime-local` value in Taiwan time."""
    if value in (None, ""):
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TAIPEI)
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")


def aware_from_input(text: str) -> str | None:
    """A `datetime-local` value (Taiwan time) as ISO 8601 with `+08:00`; None when empty.

    Raises ValueError for text that is not a date and time.
    """
    text = text.strip()
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TAIPEI)
    return moment.isoformat(timespec="minutes" if moment.second == 0 else "seconds")


@dataclass(frozen=True)
class ParameterForm:
    """Which windows (name, title) and numbers (name, label, low, high) a service's
    parameters hold; every service's parameters also hold `file_limits` by kind."""

    windows: tuple[tuple[str, str], ...]
    numbers: tuple[tuple[str, str, int, int], ...]

    def values(self, parameters: Mapping[str, Any]) -> dict[str, str]:
        """The API's parameters as the form's text values."""
        values: dict[str, str] = {"version": str(parameters.get("version", 0))}
        for window, _ in self.windows:
            for edge in ("from", "until"):
                name = f"{window}_{edge}"
                values[name] = local_input(parameters.get(name))
        for name, *_ in self.numbers:
            values[name] = str(parameters.get(name, ""))
        limits = parameters.get("file_limits") or {}
        for kind, _ in FILE_KINDS:
            size = limits.get(kind)
            values[f"limit_{kind}"] = f"{size / MIB:g}" if size else ""
        return values

    def patch(
        self, values: Mapping[str, str], current: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The merge patch of what the form changes from `current`, and the fields the portal
        itself refuses (unchanged fields are not sent, so a stored second is never rounded)."""
        shown = self.values(current)
        patch: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for window, _ in self.windows:
            for edge in ("from", "until"):
                name = f"{window}_{edge}"
                text = values.get(name, "").strip()
                if text == shown[name]:
                    continue
                try:
                    patch[name] = aware_from_input(text)
                except ValueError:
                    errors[name] = "請輸入正確的日期與時間"
        for name, label, low, high in self.numbers:
            text = values.get(name, "").strip()
            if not text.isdigit() or not low <= int(text) <= high:
                errors[name] = f"{label}須為 {low} 到 {high} 的整數"
            elif int(text) != current.get(name):
                patch[name] = int(text)
        limits = _file_limits(values, current.get("file_limits") or {}, errors)
        if limits:
            patch["file_limits"] = limits
        return patch, errors


def _file_limits(
    values: Mapping[str, str], stored: Mapping[str, Any], errors: dict[str, str]
) -> dict[str, int | None]:
    """The changed size limits by kind (None clears one); refusals go into `errors`."""
    limits: dict[str, int | None] = {}
    for kind, label in FILE_KINDS:
        text = values.get(f"limit_{kind}", "").strip()
        size: int | None = None
        if text:
            try:
                size = round(float(text) * MIB)
            except ValueError:
                size = 0
            if not 0 < size <= MAX_FILE_MB * MIB:
                errors[f"file_limits-{kind}"] = f"{label}大小上限須大於 0 且不超過 50 MB"
                continue
        if size != stored.get(kind):
            limits[kind] = size
    return limits
