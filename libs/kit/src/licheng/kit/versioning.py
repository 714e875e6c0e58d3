"""Optimistic concurrency over HTTP: `If-Match: <version>` read into the expected version."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from licheng.kit.errors import BadRequest


def expected_version(
    if_match: Annotated[str | None, Header(description="資料版本號（上次讀到的 version）")] = None,
) -> int | None:
    """The version the client last read, or None when it sent no `If-Match`."""
    if if_match is None:
        return None
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise BadRequest("If-Match 必須是資料版本號", code="if_match_invalid") from exc


ExpectedVersion = Annotated[int | None, Depends(expected_version)]
