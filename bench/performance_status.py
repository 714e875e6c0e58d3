"""Benchmark: the performances status lists for a 2,000-student school.

Run after `./licheng infra up`:  uv run python -m bench.performance_status [--students 2000]
Seeds 2,000 enrolled students in 60 classes (with 座號 and 導師), 20,000 多元表現 records of
academic year 115 (ten per student on average, every category, some selected, about 70% with a
proof file), 1,500 校內幹部 records and a year of older records, then times the status lists
through the HTTP API for several sorts and filters (9 timed rounds after a warm-up) and prints
p50 / p95 / max latency, and times the xlsx download of every student. The reference, timed
in the same run against the same app: a trivial authenticated GET (`/me/cadres` of a student
without records).
"""

from __future__ import annotations

import random
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa

from bench._support import (
    CLASSES,
    ROUNDS,
    SCHOOL,
    analyze,
    bench_database,
    p50,
    p95,
    run,
    time_download,
    time_get,
    time_lists,
)
from bench.rows import Row, render
from licheng.kit.db import create_engine
from licheng.kit.timeutil import utcnow
from licheng.performances.app import create_app
from licheng.performances.cli import MIGRATIONS_DIR
from licheng.performances.models import (
    Cadre,
    Category,
    KnownClass,
    KnownPerson,
    Performance,
    PerformanceFile,
)
from licheng.performances.settings import Settings
from licheng.testing.apps import running

YEAR = 115
RECORDS_PER_STUDENT = 10
CADRES = 1500


def _record(
    rng: random.Random, student_id: uuid.UUID, year: int, now: Any, selected: bool
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "school_code": SCHOOL,
        "student_id": student_id,
        "academic_year": year,
        "category": rng.choice(list(Category)).value,
        "origin": "imported" if rng.random() < 0.2 else "self",
        "fields": {"name": "紀錄"},
        "certificate_code": None,
        "brief": "內容簡述",
        "video_url": None,
        "selected": selected,
        "import_key": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


def _file(record: dict[str, Any], now: Any) -> dict[str, Any]:
    digest = uuid.uuid4().hex * 2
    return {
        "id": uuid.uuid4(),
        "school_code": SCHOOL,
        "performance_id": record["id"],
        "object_key": f"{SCHOOL}/{record['student_id']}/{record['id']}/{digest}",
        "sha256": digest,
        "size": 200_000,
        "kind": "pdf",
        "filename": "證明.pdf",
        "uploaded_at": now,
    }


async def seed(url: str, students: int) -> int:
    """Seed the school; the number of year-115 records."""
    rng = random.Random(115)
    engine = create_engine(url)
    now = utcnow()
    teachers = [
        {"id": uuid.uuid4(), "school_code": SCHOOL, "kind": "staff", "local_no": f"T{n:03d}",
         "name": f"導師{n}", "class_code": None, "seat_no": None, "status": None,
         "updated_at": now}
        for n in range(len(CLASSES))
    ]  # fmt: skip
    people: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    files: list[dict[str, Any]] = []
    for n in range(students):
        person_id = uuid.uuid4()
        people.append(
            {"id": person_id, "school_code": SCHOOL, "kind": "student",
             "local_no": f"{110000 + n}", "name": f"學生{n}",
             "class_code": CLASSES[n % len(CLASSES)], "seat_no": n // len(CLASSES) + 1,
             "status": "在籍" if n % 50 else "休學", "updated_at": now}
        )  # fmt: skip
        count = rng.randint(RECORDS_PER_STUDENT - 5, RECORDS_PER_STUDENT + 5)
        selected = rng.randint(0, min(count, 10))
        for i in range(count):
            record = _record(rng, person_id, YEAR, now, selected=i < selected)
            records.append(record)
            if rng.random() < 0.7:
                files.append(_file(record, now))
        for _ in range(rng.randint(0, 3)):  # last year's records: never counted for 115
            records.append(_record(rng, person_id, YEAR - 1, now, selected=False))
    year_records = sum(1 for r in records if r["academic_year"] == YEAR)
    units = ["班級", "學生會", "社團", "校隊"]
    roles = ["班長", "副班長", "學藝股長", "風紀股長", "總務股長", "社長", "副社長"]
    cadres = [
        {"id": uuid.uuid4(), "school_code": SCHOOL, "student_id": people[n]["id"],
         "academic_year": YEAR, "semester": 1 + (i % 2), "unit_name": units[i % len(units)],
         "role_title": roles[i % len(roles)], "level": 1 + (i % 3),
         "start_date": date(2026, 9, 1), "end_date": None, "source": "import",
         "created_at": now, "updated_at": now}
        for i, n in enumerate(rng.randrange(students) for _ in range(CADRES))
    ]  # fmt: skip
    # One (unit, role) per student and semester: the table's unique key.
    unique = {(c["student_id"], c["semester"], c["unit_name"], c["role_title"]): c for c in cadres}
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(KnownClass),
            [
                {"school_code": SCHOOL, "class_code": c, "grade": int(c[0]),
                 "homeroom_person_id": teachers[i]["id"]}
                for i, c in enumerate(CLASSES)
            ],
        )  # fmt: skip
        await connection.execute(sa.insert(KnownPerson), teachers + people)
        for start in range(0, len(records), 5000):
            await connection.execute(sa.insert(Performance), records[start : start + 5000])
        for start in range(0, len(files), 5000):
            await connection.execute(sa.insert(PerformanceFile), files[start : start + 5000])
        await connection.execute(sa.insert(Cadre), list(unique.values()))
    await analyze(engine)
    await engine.dispose()
    print(
        f"seeded {students} students, {year_records} records of {YEAR} "
        f"({len(records) - year_records} older), {len(files)} proof files, "
        f"{len(unique)} cadre records"
    )
    return year_records


STATUS_GOAL_MS = 150.0


async def measure(students: int, *, quick: bool = False) -> list[Row]:
    """Seed, time the lists and the xlsx, and the trivial GET beside them; the table's rows."""
    async with bench_database("bench_perf_status", MIGRATIONS_DIR) as bench:
        await seed(bench.url, students)
        headers = bench.issuer.headers(groups=[f"/schools/{SCHOOL}/performance_submitter"])
        base = f"/api/performances/v1/schools/{SCHOOL}/status"
        lists: dict[str, list[dict[str, Any]]] = {
            "students": [
                {"sort": "class"},
                {"sort": "student_no", "order": "desc"},
                {"sort": "filled", "order": "desc"},
                {"sort": "selected", "limit": 200},
                {"sort": "cadres", "order": "desc"},
                {"grade": 2, "sort": "proof_missing", "order": "desc"},
                {"class_code": "305"},
                {"category": "competition", "sort": "filled", "order": "desc"},
            ],
            "classes": [{}, {"grade": 2}, {"limit": 200}],
        }
        year = {"academic_year": YEAR}
        label = f"{students} students"
        rounds = 2 if quick else ROUNDS
        student = bench.issuer.headers(groups=[f"/schools/{SCHOOL}/student"])
        async with running(create_app(bench.settings(Settings))) as client:
            timed = await time_lists(
                client, base, lists, params=year, headers=headers, label=label, rounds=rounds
            )
            trivial = await time_get(
                client,
                f"/api/performances/v1/schools/{SCHOOL}/me/cadres",
                params={},
                headers=student,
                rounds=sum(len(q) for q in lists.values()) * (rounds - 1),
            )
            xlsx = await time_download(
                client, base, "students.xlsx", params=year, headers=headers, label=label
            )
    every = [t for timings in timed.values() for t in timings]
    return [
        Row(
            "P6",
            f"performances status lists, {students} students ({len(every)} requests)",
            f"p50 {p50(every):.0f} / p95 {p95(every):.0f} ms",
            f"trivial GET p95 {p95(trivial):.1f} ms",
            p95(every) / p95(trivial),
            f"p95 < {STATUS_GOAL_MS:.0f} ms",
            p95(every) < STATUS_GOAL_MS,
        ),
        Row(
            "P6",
            f"performances students.xlsx, {students} students",
            f"median {p50(xlsx):.0f} ms",
            f"status/students p50 {p50(timed['students']):.0f} ms",
            p50(xlsx) / p50(timed["students"]),
            "—",
            None,
        ),
    ]


async def main(students: int) -> None:
    print(render(await measure(students)))


if __name__ == "__main__":
    run(main, __doc__)
