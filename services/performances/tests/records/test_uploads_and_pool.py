"""Proof-file uploads hold no database connection while they wait on S3: the service runs on ONE
pooled connection, reaching S3 through a proxy the tests can hang or cut."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from licheng.performances.models import PerformanceFile
from licheng.testing.infra import TestInfra
from licheng.testing.servers import TcpProxy

from .conftest import PNG, Filling


@pytest.fixture
async def s3_proxy(infra: TestInfra) -> AsyncIterator[TcpProxy]:
    host, port = infra.s3_endpoint.rsplit(":", 1)
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    try:
        yield proxy
    finally:
        proxy.resume()
        await proxy.cut()


@pytest.fixture
def perf_api_settings(s3_proxy: TcpProxy) -> dict[str, Any]:
    """S3 through the proxy and a pool of one connection (3 s timeout, then 503)."""
    return {
        "s3_endpoint": f"127.0.0.1:{s3_proxy.port}",
        "database_pool_size": 1,
        "database_max_overflow": 0,
        "database_pool_timeout_seconds": 3.0,
    }


async def _keys(filling: Filling) -> set[str]:
    async with filling.api.app.state.session_factory() as session:
        return {f.object_key for f in (await session.exec(select(PerformanceFile))).all()}


async def test_a_put_that_fails_answers_503_and_stores_nothing(
    filling: Filling, s3_proxy: TcpProxy
) -> None:
    record = await filling.create()
    await s3_proxy.cut()
    answer = await filling.upload(record["id"], "a.png", PNG)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "storage_unavailable"
    assert "Retry-After" in answer.headers
    assert await _keys(filling) == set()
    await s3_proxy.start()
    assert (await filling.upload(record["id"], "a.png", PNG)).status_code == 201


async def test_a_hanging_put_leaves_the_pool_free_and_a_lost_race_leaves_no_row(
    filling: Filling, s3_proxy: TcpProxy
) -> None:
    record = await filling.create()
    rid = record["id"]
    s3_proxy.pause()
    upload = asyncio.create_task(filling.upload(rid, "a.png", PNG))
    await asyncio.wait_for(s3_proxy.stalled.wait(), timeout=10)
    # The one pooled connection is free while the put hangs: reading works, and so does the
    # write that closes the fill window under the upload's feet.
    read = await filling.client.get(
        f"{filling.base}/performances/{rid}", headers=filling.student("110001")
    )
    assert read.status_code == 200, read.text
    past = datetime.now(UTC) - timedelta(days=1)
    await filling.school.open_windows(
        fill_from=(past - timedelta(days=30)).isoformat(), fill_until=past.isoformat()
    )
    s3_proxy.resume()
    answer = await upload
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"] == "window_closed"
    assert await _keys(filling) == set()  # no row; the object put stays for the sweep
    loser = hashlib.sha256(PNG).hexdigest()
    assert [key.rsplit("/", 1)[1] for key in await filling.objects(rid)] == [loser]
