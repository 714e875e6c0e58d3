"""Benchmark P4: a deadline rush, 300 students at once through the gateway.

Run after `./licheng infra up`:  uv run python -m bench.rush [--quick] [--students 300]
Course-outcomes and the gateway run as processes on PostgreSQL (see `bench.campus`); the
school's students, sections and open windows are seeded in course-outcomes' database. Every
student starts at the same moment and goes, each step waiting for the one before:

    create an outcome → upload a 200 KB PDF → 送審 → the certifying teacher certifies → 勾選

(the teacher's request is sent as soon as the student's 送審 is answered, with the teacher's
token). Each step's p50 / p95 and the errors (any answer but the expected 2xx, and timeouts;
a student whose step failed stops there) are printed; the reference, measured in the same run
before the rush, is the same chain for one student alone. Goal: 0 errors, p95 < 1 s per step.
The load generator shares the machine's cores with the services: that is part of the deal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from bench._support import p50, p95
from bench.campus import TERM, Campus, SeededSchool, campus, pdf_bytes, seed_school
from bench.rows import Row, render

STEPS = ("create", "upload", "submit", "certify", "select")
UPLOAD_BYTES = 200_000
GOAL_MS = 1000.0
ALONE = 5


def _error_code(response: httpx.Response) -> str:
    """The error's stable code (`error` in the suite's error body), if the body has one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


@dataclass
class Tally:
    """Each step's timings and failures."""

    timings: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    errors: dict[str, Counter[str]] = field(default_factory=lambda: {s: Counter() for s in STEPS})

    async def step(
        self, name: str, call: Callable[[], Awaitable[httpx.Response]], expected: int
    ) -> httpx.Response | None:
        """Time one request; None (and a counted error) unless it answered `expected`."""
        started = time.perf_counter()
        try:
            response = await call()
        except httpx.HTTPError as exc:
            self.errors[name][type(exc).__name__] += 1
            return None
        self.timings[name].append((time.perf_counter() - started) * 1000)
        if response.status_code != expected:
            self.errors[name][f"{response.status_code} {_error_code(response)}".strip()] += 1
            return None
        return response


async def _student(
    lab: Campus,
    school: SeededSchool,
    student: uuid.UUID,
    teachers: dict[uuid.UUID, dict[str, str]],
    tally: Tally,
    start: asyncio.Barrier,
    marker: int,
) -> None:
    base = f"/api/course-outcomes/v1/schools/{school.code}"
    me = lab.headers(school.code, "student", person_id=student)
    body = pdf_bytes(UPLOAD_BYTES, marker)
    # Each student is a browser of their own: one client, one keep-alive connection (a shared
    # httpx pool of 300 connections would make the load generator scan it on every request).
    async with httpx.AsyncClient(base_url=lab.gateway.url, timeout=httpx.Timeout(60.0)) as client:
        await start.wait()  # every student's client is ready: they all start now
        await _chain(client, base, me, body, school, student, teachers, tally)


async def _chain(
    client: httpx.AsyncClient,
    base: str,
    me: dict[str, str],
    body: bytes,
    school: SeededSchool,
    student: uuid.UUID,
    teachers: dict[uuid.UUID, dict[str, str]],
    tally: Tally,
) -> None:
    created = await tally.step(
        "create",
        lambda: client.post(
            f"{base}/outcomes",
            headers=me,
            json={
                "enrolment_id": str(school.enrolment_of[student]),
                "outcome_type": "書面報告",
                "brief": "期末報告",
            },
        ),
        201,
    )
    if created is None:
        return
    outcome = created.json()["id"]
    steps: list[tuple[str, Callable[[], Awaitable[httpx.Response]]]] = [
        (
            "upload",
            lambda: client.put(
                f"{base}/outcomes/{outcome}/files/document",
                headers=me,
                files={"file": ("報告.pdf", body, "application/pdf")},
            ),
        ),
        ("submit", lambda: client.post(f"{base}/outcomes/{outcome}/submission", headers=me)),
        (
            "certify",
            lambda: client.post(
                f"{base}/outcomes/{outcome}/certification",
                headers=teachers[school.certifier_of[student]],
                json={"certified": True},
            ),
        ),
        (
            "select",
            lambda: client.put(
                f"{base}/me/selections", headers=me, json={**TERM, "outcome_ids": [outcome]}
            ),
        ),
    ]
    for name, call in steps:
        if await tally.step(name, call, 200) is None:
            return


async def _rush(
    lab: Campus, school: SeededSchool, students: list[uuid.UUID]
) -> tuple[Tally, float]:
    teachers = {
        teacher: lab.headers(school.code, "course_teacher", person_id=teacher)
        for teacher in set(school.certifier_of.values())
    }
    tally = Tally()
    start = asyncio.Barrier(len(students) + 1)
    tasks = [
        asyncio.create_task(_student(lab, school, s, teachers, tally, start, n))
        for n, s in enumerate(students)
    ]
    await start.wait()
    started = time.perf_counter()
    await asyncio.gather(*tasks)
    return tally, time.perf_counter() - started


async def measure(lab: Campus, *, students: int = 300, quick: bool = False) -> list[Row]:
    """The rush rows of the table."""
    if quick:
        students = min(students, 20)
    school = await seed_school(lab.courses_db, students + ALONE + 1)
    # The reference: extra students one at a time (the first warms up JWKS and pools).
    alone = Tally()
    for n, student in enumerate(school.students[students:]):
        single, _ = await _rush(lab, school, [student])
        if n:
            for step in STEPS:
                alone.timings[step] += single.timings[step]
    services = (lab.gateway, lab.courses)
    cpu_before = [service.cpu_seconds() for service in services] + [time.process_time()]
    tally, wall = await _rush(lab, school, school.students[:students])
    cpu = [
        after - before
        for after, before in zip(
            [service.cpu_seconds() for service in services] + [time.process_time()],
            cpu_before,
            strict=True,
        )
    ]
    where = f"gateway {cpu[0]:.1f} s, course-outcomes {cpu[1]:.1f} s, load generator {cpu[2]:.1f} s"
    print(f"rush of {students} students: {wall:.1f} s from start to the last 勾選; CPU: {where}")
    rows = []
    for step in STEPS:
        timings = tally.timings[step]
        errors = sum(tally.errors[step].values())
        reference = p50(alone.timings[step]) if alone.timings[step] else float("nan")
        figure_p95 = p95(timings) if timings else float("nan")
        detail = ", ".join(f"{k} ×{v}" for k, v in tally.errors[step].most_common())
        print(
            f"  {step:8} p50 {p50(timings) if timings else float('nan'):7.0f} ms, "
            f"p95 {figure_p95:7.0f} ms, {len(timings)} answered, errors {errors}"
            + (f" ({detail})" if detail else "")
            + f"; alone {reference:.0f} ms"
        )
        rows.append(
            Row(
                "P4",
                f"rush, {students} students at once via gateway: {step}",
                f"p50 {p50(timings) if timings else float('nan'):.0f} / p95 {figure_p95:.0f} ms, "
                f"{errors} errors",
                f"one student alone {reference:.0f} ms",
                figure_p95 / reference if timings else None,
                f"0 errors, p95 < {GOAL_MS:.0f} ms",
                errors == 0 and bool(timings) and figure_p95 < GOAL_MS,
            )
        )
    rows.append(
        Row(
            "P4",
            f"rush, {students} students: CPU used by each process during the rush",
            where,
            f"wall {wall:.1f} s × {os.cpu_count()} cores",
            None,
            "—",
            None,
        )
    )
    return rows


async def _main(students: int, quick: bool) -> None:
    async with campus() as lab:
        print(render(await measure(lab, students=students, quick=quick)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    asyncio.run(_main(options.students, options.quick))
