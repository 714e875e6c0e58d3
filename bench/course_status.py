"""Benchmark: the course-outcomes status list for a 2,000-student school.

Run after `./licheng infra up`:  uv run python bench/course_status.py [--students 2000]
Seeds 2,000 enrolled students in 60 classes with three outcomes each (mixed states), then
times the status endpoint through the HTTP API for several sorts and pages and prints
p50 / p95 / max latency.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid

import sqlalchemy as sa

from licheng.course_outcomes.app import create_app
from licheng.course_outcomes.cli import MIGRATIONS_DIR
from licheng.course_outcomes.models import (
    CourseSection,
    Enrolment,
    KnownClass,
    KnownPerson,
    Outcome,
    OutcomeStatus,
)
from licheng.course_outcomes.settings import Settings
from licheng.kit.db import create_engine
from licheng.kit.migrations import upgrade_to_head_async
from licheng.kit.timeutil import utcnow
from licheng.testing.apps import running, service_settings
from licheng.testing.databases import create_database, drop_database
from licheng.testing.fixtures import TestIssuer
from licheng.testing.infra import load_infra

SCHOOL = "011302"
CLASSES = [f"{g}{c:02d}" for g in (1, 2, 3) for c in range(1, 21)]


async def seed(url: str, students: int) -> None:
    rng = random.Random(115)
    engine = create_engine(url)
    now = utcnow()
    section_id = uuid.uuid4()
    people, enrolments, outcomes = [], [], []
    for n in range(students):
        person_id, enrolment_id = uuid.uuid4(), uuid.uuid4()
        people.append(
            {
                "id": person_id,
                "school_code": SCHOOL,
                "kind": "student",
                "local_no": f"{110000 + n}",
                "name": f"學生{n}",
                "class_code": CLASSES[n % len(CLASSES)],
                "status": "在籍",
                "updated_at": now,
            }
        )
        enrolments.append(
            {
                "id": enrolment_id,
                "school_code": SCHOOL,
                "section_id": section_id,
                "student_no": f"{110000 + n}",
                "student_id": person_id,
                "kind": "學期課程",
            }
        )
        for _ in range(3):
            state = rng.choice(list(OutcomeStatus))
            outcomes.append(
                {
                    "id": uuid.uuid4(),
                    "school_code": SCHOOL,
                    "academic_year": 115,
                    "semester": 1,
                    "student_id": person_id,
                    "enrolment_id": enrolment_id,
                    "section_id": section_id,
                    "outcome_type": "書面報告",
                    "brief": "簡述",
                    "status": state.value,
                    "selected": state == OutcomeStatus.CERTIFIED,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(KnownClass),
            [{"school_code": SCHOOL, "class_code": c, "grade": int(c[0])} for c in CLASSES],
        )
        await connection.execute(sa.insert(KnownPerson), people)
        await connection.execute(
            sa.insert(CourseSection),
            [
                {
                    "id": section_id,
                    "school_code": SCHOOL,
                    "academic_year": 115,
                    "semester": 1,
                    "course_code": "108011302H11101A1010101",
                    "subject_name": "國語文",
                    "credits": 4,
                    "grade": 1,
                    "teacher_no": "T001",
                }
            ],
        )
        await connection.execute(sa.insert(Enrolment), enrolments)
        await connection.execute(sa.insert(Outcome), outcomes)
    await engine.dispose()


async def main(students: int) -> None:
    infra = load_infra()
    issuer = TestIssuer()
    database = await create_database(infra, "bench_status")
    url = infra.pg_url(database)
    try:
        await upgrade_to_head_async(migrations_dir=MIGRATIONS_DIR, database_url=url)
        await seed(url, students)
        settings = service_settings(
            Settings, infra=infra, database_url=url, jwks_url=issuer.jwks_url, issuer=issuer.issuer
        )
        headers = issuer.headers(groups=[f"/schools/{SCHOOL}/course_submitter"])
        base = f"/api/course-outcomes/v1/schools/{SCHOOL}/status/students"
        queries = [
            {"sort": "class"},
            {"sort": "certified", "order": "desc"},
            {"sort": "filled", "limit": 200},
            {"grade": 2, "sort": "selected"},
            {"class_code": "305"},
        ]
        async with running(create_app(settings)) as client:
            timings: list[float] = []
            for round_ in range(10):
                for query in queries:
                    params = {"academic_year": 115, "semester": 1, **query}
                    started = time.perf_counter()
                    response = await client.get(base, params=params, headers=headers)
                    elapsed = time.perf_counter() - started
                    assert response.status_code == 200, response.text
                    if round_:  # the first round warms caches and the pool
                        timings.append(elapsed * 1000)
            total = response.json()["total"]
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(
            f"status/students, {students} students ({len(timings)} requests, {total} in the "
            f"last class): p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, "
            f"max {timings[-1]:.1f} ms"
        )
    finally:
        issuer.close()
        await drop_database(infra, database)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=2000)
    asyncio.run(main(parser.parse_args().students))
