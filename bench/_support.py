"""What the benchmark scripts share: the school's classes, a migrated throwaway test database
with a token issuer, ANALYZE after seeding, and timing HTTP calls (p50 / p95 / max).

Each benchmark module runs alone (`uv run python -m bench.<module>`) or in the suite
(`uv run python -m bench`), which collects its `Row`s into one table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

import httpx
import openpyxl
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from licheng.kit.migrations import upgrade_to_head_async
from licheng.kit.settings import ServiceSettings
from licheng.testing.apps import service_settings
from licheng.testing.databases import create_database, drop_database
from licheng.testing.fixtures import TestIssuer
from licheng.testing.infra import TestInfra, load_infra

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

SCHOOL = "011302"
CLASSES = [f"{g}{c:02d}" for g in (1, 2, 3) for c in range(1, 21)]
ROUNDS = 10  # the first round warms caches and the pool; the other 9 are timed


@dataclass(frozen=True)
class Bench:
    """The test infrastructure, a token issuer and the benchmark's migrated database."""

    infra: TestInfra
    issuer: TestIssuer
    url: str

    def settings(self, settings_class: type[SettingsT]) -> SettingsT:
        """The service's settings pointing at the benchmark's database and issuer."""
        return service_settings(
            settings_class,
            infra=self.infra,
            database_url=self.url,
            jwks_url=self.issuer.jwks_url,
            issuer=self.issuer.issuer,
            log_level="WARNING",
        )


@asynccontextmanager
async def bench_database(name: str, migrations_dir: Path) -> AsyncIterator[Bench]:
    """A fresh test database migrated to head (dropped afterwards) and a token issuer."""
    infra = load_infra()
    issuer = TestIssuer()
    database = await create_database(infra, name)
    url = infra.pg_url(database)
    try:
        await upgrade_to_head_async(migrations_dir=migrations_dir, database_url=url)
        yield Bench(infra, issuer, url)
    finally:
        issuer.close()
        await drop_database(infra, database)


async def analyze(engine: AsyncEngine) -> None:
    """Planner statistics, as autovacuum would gather them on a school's real database."""
    async with engine.begin() as connection:
        await connection.execute(sa.text("ANALYZE"))


def _timed(timings: list[float], started: float) -> None:
    timings.append((time.perf_counter() - started) * 1000)


def p95(timings: Sequence[float]) -> float:
    """The 95th percentile (nearest rank, as `summary` prints it)."""
    ordered = sorted(timings)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def p50(timings: Sequence[float]) -> float:
    """The median."""
    return statistics.median(timings)


def summary(name: str, timings: list[float]) -> str:
    """One line of p50 / p95 / max milliseconds."""
    timings = sorted(timings)
    return (
        f"{name}: p50 {p50(timings):.1f} ms, p95 {p95(timings):.1f} ms, "
        f"max {timings[-1]:.1f} ms ({len(timings)} requests)"
    )


async def time_get(
    client: httpx.AsyncClient,
    url: str,
    *,
    params: Mapping[str, Any],
    headers: Mapping[str, str],
    rounds: int,
) -> list[float]:
    """GET `url` `rounds` times after one warm-up; the milliseconds of each."""
    timings: list[float] = []
    for round_ in range(rounds + 1):
        started = time.perf_counter()
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        if round_:
            _timed(timings, started)
    return timings


async def time_lists(
    client: httpx.AsyncClient,
    base: str,
    lists: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    params: Mapping[str, Any],
    headers: Mapping[str, str],
    label: str,
    rounds: int = ROUNDS,
) -> dict[str, list[float]]:
    """GET `{base}/{name}` with each of its queries for `rounds` rounds (the first warms up);
    print each list's line and return its timings."""
    timed: dict[str, list[float]] = {}
    for name, queries in lists.items():
        timings = timed[name] = []
        for round_ in range(rounds):
            for query in queries:
                started = time.perf_counter()
                response = await client.get(
                    f"{base}/{name}", params={**params, **query}, headers=headers
                )
                assert response.status_code == 200, response.text
                if round_:  # the first round warms caches and the pool
                    _timed(timings, started)
        print(summary(f"status/{name}, {label}", timings))
    return timed


async def time_download(
    client: httpx.AsyncClient,
    base: str,
    name: str,
    *,
    params: Mapping[str, Any],
    headers: Mapping[str, str],
    label: str,
) -> list[float]:
    """GET `{base}/{name}`, an xlsx, four times (the first warms up); print the timing, its size
    and its rows; return the timings."""
    downloads: list[float] = []
    for _ in range(4):
        started = time.perf_counter()
        response = await client.get(f"{base}/{name}", params=params, headers=headers)
        _timed(downloads, started)
        assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(BytesIO(response.content), read_only=True)
    rows = sum(1 for _ in book.worksheets[0].iter_rows(min_row=2, values_only=True))
    book.close()
    print(
        summary(f"status/{name}, {label}", downloads[1:])
        + f"; {len(response.content) // 1024} KiB, {rows} rows incl. notes"
    )
    return downloads[1:]


def run(main: Callable[[int], Awaitable[None]], description: str | None) -> None:
    """Run `main(students)` with the `--students` option (2,000 by default)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--students", type=int, default=2000)
    asyncio.run(_call(main, parser.parse_args().students))


async def _call(main: Callable[[int], Awaitable[None]], students: int) -> None:
    await main(students)
