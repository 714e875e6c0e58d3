"""Reading every page of one of the API's cursor lists (`{items, next_cursor, total}`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from licheng.web.gateway import GatewayApi

PAGE_LIMIT = 200  # the kit's largest page
MAX_PAGES = 50  # 10,000 rows: more than any one school's list a page would show


async def every_item(
    api: GatewayApi,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    max_pages: int = MAX_PAGES,
) -> list[dict[str, Any]]:
    """Every item of a paginated list (following `next_cursor`, at most `max_pages` pages)."""
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {**(params or {}), "limit": PAGE_LIMIT}
    for _ in range(max_pages):
        page = await api.get(path, params=query)
        items.extend(item for item in page.get("items", []) if isinstance(item, dict))
        cursor = page.get("next_cursor")
        if not cursor:
            break
        query["cursor"] = cursor
    return items
