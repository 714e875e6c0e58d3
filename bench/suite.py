"""The benchmark suite: every benchmark against the provisioned infrastructure, one table.

    uv run python -m bench [--only P3,P5] [--quick]      (or ./licheng bench [...])

Each row is a figure beside its reference measured in the same run on the same machine, their
ratio, the goal and whether it holds — so a row means something on a busy machine too. A
benchmark that fails prints its error in its row (holds: no) and the others still run.
`--quick` is a small smoke run (small schools, short loads): its figures are not the goals'.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import traceback
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from functools import partial

from bench import (
    course_status,
    event_lag,
    identity_import,
    performance_status,
    roster_build,
    rush,
    uploads,
)
from bench.campus import Campus, campus
from bench.rows import Row, render

IDS = ("P2", "P3", "P4", "P5", "P6", "P7", "R25")
WHAT = {
    "P2": "4 MB upload via gateway → course-outcomes → S3",
    "P3": "gateway ratio, GET /api/identity/v1/me (wrk)",
    "P4": "deadline rush through the gateway",
    "P5": "event lag identity → course-outcomes",
    "P6": "status lists (course-outcomes, performances)",
    "P7": "identity student import",
    "R25": "名冊 25 roster build",
}


async def _p3(quick: bool) -> list[Row]:
    from bench.gateway_ratio import measure  # helper G1's benchmark, run as it runs alone

    seconds, latency = (1, 1) if quick else (8, 5)
    figures = await measure(duration_seconds=seconds, latency_seconds=latency)
    ratio, added = figures["ratio"], figures["added_p50_ms"]
    errors = int(figures.get("non_2xx", 0))
    return [
        Row(
            "P3",
            f"GET /api/identity/v1/me via gateway, wrk -t2 -c16 -d{seconds}s"
            + (f" ({errors} non-2xx)" if errors else ""),
            f"{figures['gateway_rps']:,.0f} req/s",
            f"direct to identity {figures['direct_rps']:,.0f} req/s",
            ratio,
            f"≥ {figures['ratio_goal']}×",
            ratio >= figures["ratio_goal"] and errors == 0,
        ),
        Row(
            "P3",
            "p50 added by the gateway at concurrency 1 (wrk -c1)",
            f"+{added:.2f} ms (gateway p50 {figures['gateway_p50_ms']:.2f} ms)",
            f"direct p50 {figures['direct_p50_ms']:.2f} ms",
            figures["gateway_p50_ms"] / figures["direct_p50_ms"],
            f"≤ {figures['added_p50_ms_goal']:.0f} ms added",
            added <= figures["added_p50_ms_goal"],
        ),
    ]


async def _p2(lab: Campus, quick: bool) -> list[Row]:
    return await uploads.measure(lab, quick=quick)


async def _p4(lab: Campus, quick: bool) -> list[Row]:
    return await rush.measure(lab, quick=quick)


async def _p5(lab: Campus, quick: bool) -> list[Row]:
    return await event_lag.measure(lab, quick=quick)


async def _p6(quick: bool) -> list[Row]:
    students = 100 if quick else 2000
    return [
        *await course_status.measure(students, quick=quick),
        *await performance_status.measure(students, quick=quick),
    ]


async def _p7(quick: bool) -> list[Row]:
    return await identity_import.measure(100 if quick else 2000, quick=quick)


async def _r25(quick: bool) -> list[Row]:
    return await asyncio.to_thread(roster_build.measure, 100 if quick else 4500)


ON_CAMPUS = {"P2": _p2, "P4": _p4, "P5": _p5}
ALONE = {"P3": _p3, "P6": _p6, "P7": _p7, "R25": _r25}


def _failed(bench_id: str, exc: BaseException) -> Row:
    message = f"{type(exc).__name__}: {exc}".splitlines()[0][:90]
    return Row(bench_id, WHAT[bench_id], f"failed — {message}", "—", None, "—", False)


async def run_suite(only: list[str], *, quick: bool) -> list[Row]:
    """Run the chosen benchmarks one after another: P3, those on the shared campus, the rest."""
    rows: list[Row] = []

    async def attempt(bench_id: str, call: Callable[[], Awaitable[list[Row]]]) -> None:
        print(f"── {bench_id}: {WHAT[bench_id]}", flush=True)
        started = time.monotonic()
        try:
            rows.extend(await call())
        except Exception as exc:
            traceback.print_exc()
            rows.append(_failed(bench_id, exc))
        print(f"── {bench_id}: {time.monotonic() - started:.0f} s", flush=True)

    async def on_campus() -> None:
        chosen = [b for b in ON_CAMPUS if b in only]
        if not chosen:
            return
        async with AsyncExitStack() as stack:
            try:
                lab = await stack.enter_async_context(campus())
            except Exception as exc:
                traceback.print_exc()
                rows.extend(_failed(b, exc) for b in chosen)
                return
            for bench_id in chosen:
                await attempt(bench_id, partial(ON_CAMPUS[bench_id], lab, quick))

    async def alone(bench_ids: tuple[str, ...]) -> None:
        for bench_id in bench_ids:
            if bench_id in only:
                await attempt(bench_id, partial(ALONE[bench_id], quick))

    await alone(("P3",))
    await on_campus()
    await alone(("P6", "P7", "R25"))
    order = {b: n for n, b in enumerate(IDS)}
    return sorted(rows, key=lambda r: order[r.id])


def main() -> None:
    """Parse the options, run, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", help=f"comma-separated ids among {', '.join(IDS)}")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    options = parser.parse_args()
    only = [b.strip().upper() for b in options.only.split(",")] if options.only else list(IDS)
    unknown = sorted(set(only) - set(IDS))
    if unknown:
        parser.error(f"unknown benchmark ids: {', '.join(unknown)} (known: {', '.join(IDS)})")
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    rows = asyncio.run(run_suite(only, quick=options.quick))
    minutes = (datetime.now(UTC) - started).total_seconds() / 60
    print()
    smoke = " (--quick: smoke sizes, not the goals' sizes)" if options.quick else ""
    print(
        f"Licheng benchmarks{smoke} — {started:%Y-%m-%d %H:%M} UTC, {minutes:.1f} min, "
        f"{os.cpu_count()} cores, "
        f"load average {load_before:.1f} at start / {os.getloadavg()[0]:.1f} at end"
    )
    print(render(rows))
    held = [r for r in rows if r.holds is not None]
    print(f"{sum(1 for r in held if r.holds)} of {len(held)} goals hold.")
