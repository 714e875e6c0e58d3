"""List answers `{items, next_cursor, total}` with an opaque cursor and `limit` ≤ 200."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Query
from pydantic import BaseModel
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from licheng.kit.errors import BadRequest

T = TypeVar("T")
MAX_LIMIT = 200
MAX_OFFSET = 10_000_000  # far past any list a school has; a bigger one is a forged cursor


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
    total: int


def encode_cursor(offset: int) -> str:
    """An opaque cursor for the row at `offset`."""
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for; 400 for a cursor we did not make."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        offset = json.loads(raw)["o"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadRequest("分頁參數不正確", code="cursor_invalid") from exc
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise BadRequest("分頁參數不正確", code="cursor_invalid")
    return offset


class PageParams(BaseModel):
    offset: int
    limit: int

    def next_cursor(self, total: int) -> str | None:
        """The cursor of the following page, if there is one."""
        following = self.offset + self.limit
        return encode_cursor(following) if following < total else None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> PageParams:
    """Dependency reading `?limit=&cursor=`."""
    return PageParams(offset=decode_cursor(cursor), limit=limit)


Paging = Annotated[PageParams, Depends(page_params)]


async def paginate(
    session: AsyncSession, stmt: SelectOfScalar[T], paging: PageParams
) -> tuple[list[T], int]:
    """One page of a query's rows (in its order) and the total of all its rows."""
    total = int((await session.exec(select(sa.func.count()).select_from(stmt.subquery()))).one())
    rows = list((await session.exec(stmt.offset(paging.offset).limit(paging.limit))).all())
    return rows, total


def page_of(items: list[T], total: int, paging: PageParams) -> Page[T]:
    """The answer for one page."""
    return Page(items=items, next_cursor=paging.next_cursor(total), total=total)
