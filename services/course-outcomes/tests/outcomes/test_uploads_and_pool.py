"""Uploads hold no database connection while they wait on S3, and a busy or failing store or
pool answers 503 with `Retry-After`: the service runs on ONE pooled connection, reaching S3
through a proxy the tests can hang or cut."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from licheng.course_outcomes.models import OutcomeFile
from licheng.testing.infra import TestInfra
from licheng.testing.servers import TcpProxy

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300)
# Long enough that a request waiting for the pool would still be waiting when we look.
POOL_TIMEOUT_SECONDS = 3.0


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
def course_api_settings(s3_proxy: TcpProxy) -> dict[str, Any]:
    """S3 through the proxy; a pool of exactly one connection, so a request holding it across
    the put would leave every other request waiting (and then 503 `database_busy`)."""
    return {
        "s3_endpoint": f"127.0.0.1:{s3_proxy.port}",
        "database_pool_size": 1,
        "database_max_overflow": 0,
        "database_pool_timeout_seconds": POOL_TIMEOUT_SECONDS,
    }


async def _rows(term: Any) -> list[OutcomeFile]:
    async with term.api.app.state.session_factory() as session:
        return list((await session.exec(select(OutcomeFile))).all())


async def _objects(term: Any, outcome_id: str) -> set[str]:
    storage = term.api.app.state.storage
    bucket = term.api.app.state.settings.uploads_bucket
    prefix = f"{term.api.school}/{term.student_1}/{outcome_id}/"
    return set(
        await asyncio.to_thread(
            lambda: [
                o.object_name
                for o in storage.client.list_objects(bucket, prefix=prefix, recursive=True)
            ]
        )
    )


async def _start_hanging_upload(
    term: Any, proxy: TcpProxy, outcome_id: str
) -> asyncio.Task[httpx.Response]:
    """Post the PNG with S3 hanging; return once its bytes are on their way to S3."""
    proxy.pause()
    upload = asyncio.create_task(
        term.api.client.post(
            f"{term.base}/outcomes/{outcome_id}/files",
            files={"file": ("照片.png", PNG)},
            headers=term.student(),
        )
    )
    await asyncio.wait_for(proxy.stalled.wait(), timeout=10)
    return upload


async def test_a_put_that_fails_answers_503_and_stores_nothing(
    term: Any, s3_proxy: TcpProxy
) -> None:
    outcome = await term.new_outcome()
    oid = outcome["id"]
    await s3_proxy.cut()
    for answer in (
        await term.api.client.post(
            f"{term.base}/outcomes/{oid}/files",
            files={"file": ("照片.png", PNG)},
            headers=term.student(),
        ),
        await term.api.client.put(
            f"{term.base}/outcomes/{oid}/files/document",
            files={"file": ("照片.png", PNG)},
            headers=term.student(),
        ),
    ):
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "storage_unavailable"
        assert answer.json()["message"] == "檔案儲存服務暫時無法使用，請稍後再試"
        assert int(answer.headers["Retry-After"]) > 0
    assert [f.filename for f in await _rows(term)] == ["報告.pdf"]
    after = await term.api.client.get(f"{term.base}/outcomes/{oid}", headers=term.student())
    assert after.json()["version"] == outcome["version"]  # the outcome did not change either

    await s3_proxy.start()  # S3 is back: the same upload goes through
    again = await term.api.client.post(
        f"{term.base}/outcomes/{oid}/files",
        files={"file": ("照片.png", PNG)},
        headers=term.student(),
    )
    assert again.status_code == 201, again.text
    assert sorted(f.filename for f in await _rows(term)) == ["報告.pdf", "照片.png"]


async def test_other_requests_are_served_while_a_put_hangs(term: Any, s3_proxy: TcpProxy) -> None:
    outcome = await term.new_outcome()
    oid = outcome["id"]
    upload = await _start_hanging_upload(term, s3_proxy, oid)
    # The only pooled connection is free: a read and a write both go through at once.
    read = await term.api.client.get(f"{term.base}/outcomes/{oid}", headers=term.student())
    assert read.status_code == 200, read.text
    edit = await term.api.client.patch(
        f"{term.base}/outcomes/{oid}", json={"brief": "改寫後的簡述"}, headers=term.student()
    )
    assert edit.status_code == 200, edit.text
    assert not upload.done()
    s3_proxy.resume()
    answer = await upload
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["brief"] == "改寫後的簡述"  # written after the edit, on the outcome as it is now
    assert sorted(f["filename"] for f in body["files"]) == ["報告.pdf", "照片.png"]
    assert body["version"] > edit.json()["version"]


@pytest.mark.parametrize("race", ["window_closed", "submitted"])
async def test_an_upload_that_loses_a_race_during_its_put_leaves_no_row(
    term: Any, s3_proxy: TcpProxy, race: str
) -> None:
    outcome = await term.new_outcome()
    oid = outcome["id"]
    upload = await _start_hanging_upload(term, s3_proxy, oid)
    if race == "window_closed":
        past = datetime.now(UTC) - timedelta(days=1)
        await term.open_windows(
            upload_from=(past - timedelta(days=30)).isoformat(), upload_until=past.isoformat()
        )
        expected = "window_closed"
    else:
        submitted = await term.submit(oid)
        assert submitted.status_code == 200, submitted.text
        expected = "outcome_not_editable"
    s3_proxy.resume()
    answer = await upload
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"] == expected
    rows = await _rows(term)
    assert [f.filename for f in rows] == ["報告.pdf"]
    objects = await _objects(term, oid)
    assert {f.object_key for f in rows} <= objects  # no row names a missing object
    # The loser's bytes reached S3 before it lost; nothing references them (left for the sweep).
    loser = f"{term.api.school}/{term.student_1}/{oid}/{hashlib.sha256(PNG).hexdigest()}"
    assert loser in objects
    assert loser not in {f.object_key for f in rows}


async def test_a_busy_pool_answers_503_with_retry_after(term: Any) -> None:
    outcome = await term.new_outcome()
    url = f"{term.base}/outcomes/{outcome['id']}"
    async with term.api.app.state.engine.connect() as held:  # the pool's one connection
        await held.execute(text("SELECT 1"))
        busy = await term.api.client.get(url, headers=term.student())
    assert busy.status_code == 503, busy.text
    assert busy.json()["error"] == "database_busy"
    assert busy.json()["message"] == "目前使用人數眾多，請稍候幾秒再試"
    assert busy.headers["Retry-After"] == "2"
    free = await term.api.client.get(url, headers=term.student())
    assert free.status_code == 200
