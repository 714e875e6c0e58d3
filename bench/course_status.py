"""Benchmark: the course-outcomes status lists for a 2,000-student school.

Run after `./licheng infra up`:  uv run python -m bench.course_status [--students 2000]
Seeds 2,000 enrolled students in 60 classes (with 座號 and 導師), 15 sections (five per
grade, each student in their grade's five) and three outcomes per student (mixed states),
then times the status lists through the HTTP API for several sorts and filters and prints
p50 / p95 / max latency, and times the xlsx download of every student. The reference, timed
in the same run against the same app: a trivial authenticated GET (`/me/courses` of a student
without courses), so the figure reads as "how many trivial requests one list costs".
"""

from __future__ import annotations

import random
import uuid
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
from licheng.kit.timeutil import utcnow
from licheng.testing.apps import running

SUBJECTS = ["國語文", "英語文", "數學", "物理", "歷史"]


def course_code(grade: int, subject: int) -> str:
    """A 23-character 課程代碼 of the grade's n-th subject."""
    return f"108011302H{grade}{subject:02d}01A1010{grade}{subject:02d}"


async def seed(url: str, students: int) -> None:
    rng = random.Random(115)
    engine = create_engine(url)
    now = utcnow()
    teachers = [
        {"id": uuid.uuid4(), "school_code": SCHOOL, "kind": "staff", "local_no": f"T{n:03d}",
         "name": f"教師{n}", "class_code": None, "seat_no": None, "status": None,
         "updated_at": now}
        for n in range(len(CLASSES))
    ]  # fmt: skip
    sections = {
        (grade, subject): {
            "id": uuid.uuid4(), "school_code": SCHOOL, "academic_year": 115, "semester": 1,
            "course_code": course_code(grade, n),
            "subject_name": subject, "credits": 4, "grade": grade,
            "teacher_no": teachers[n]["local_no"], "teacher_id": teachers[n]["id"],
            "certifier_id": teachers[n]["id"],
        }
        for grade in (1, 2, 3)
        for n, subject in enumerate(SUBJECTS)
    }  # fmt: skip
    people: list[dict[str, Any]] = []
    enrolments: list[dict[str, Any]] = []
    outcomes: list[dict[str, Any]] = []
    for n in range(students):
        person_id = uuid.uuid4()
        class_code = CLASSES[n % len(CLASSES)]
        grade = int(class_code[0])
        people.append(
            {
                "id": person_id,
                "school_code": SCHOOL,
                "kind": "student",
                "local_no": f"{110000 + n}",
                "name": f"學生{n}",
                "class_code": class_code,
                "seat_no": n // len(CLASSES) + 1,
                "status": "在籍",
                "updated_at": now,
            }
        )
        taken = []
        for subject in SUBJECTS:
            section = sections[grade, subject]
            enrolment_id = uuid.uuid4()
            taken.append((enrolment_id, section))
            enrolments.append(
                {
                    "id": enrolment_id,
                    "school_code": SCHOOL,
                    "section_id": section["id"],
                    "student_no": f"{110000 + n}",
                    "student_id": person_id,
                    "kind": "學期課程",
                }
            )
        for enrolment_id, section in taken[:3]:
            state = rng.choice(list(OutcomeStatus))
            outcomes.append(
                {
                    "id": uuid.uuid4(),
                    "school_code": SCHOOL,
                    "academic_year": 115,
                    "semester": 1,
                    "student_id": person_id,
                    "enrolment_id": enrolment_id,
                    "section_id": section["id"],
                    "certifier_id": section["certifier_id"],
                    "outcome_type": "書面報告",
                    "brief": "簡述",
                    "status": state.value,
                    "selected": state == OutcomeStatus.CERTIFIED,
                    "submitted_at": None if state == OutcomeStatus.DRAFT else now,
                    "decided_at": now if state in (OutcomeStatus.CERTIFIED,
                                                   OutcomeStatus.FAILED) else None,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )  # fmt: skip
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
        await connection.execute(sa.insert(CourseSection), list(sections.values()))
        await connection.execute(sa.insert(Enrolment), enrolments)
        await connection.execute(sa.insert(Outcome), outcomes)
    await analyze(engine)
    await engine.dispose()


STATUS_GOAL_MS = 150.0


async def measure(students: int, *, quick: bool = False) -> list[Row]:
    """Seed, time the lists and the xlsx, and the trivial GET beside them; the table's rows."""
    async with bench_database("bench_status", MIGRATIONS_DIR) as bench:
        await seed(bench.url, students)
        headers = bench.issuer.headers(groups=[f"/schools/{SCHOOL}/course_submitter"])
        base = f"/api/course-outcomes/v1/schools/{SCHOOL}/status"
        lists: dict[str, list[dict[str, Any]]] = {
            "students": [
                {"sort": "class"},
                {"sort": "seat_no"},
                {"sort": "certified", "order": "desc"},
                {"sort": "filled", "limit": 200},
                {"grade": 2, "sort": "selected"},
                {"class_code": "305"},
                {"course_code": course_code(1, 0)},
            ],
            "classes": [{}, {"grade": 2}],
            "courses": [{}, {"limit": 200}],
            "teachers": [{}],
        }
        term = {"academic_year": 115, "semester": 1}
        label = f"{students} students"
        rounds = 2 if quick else ROUNDS
        student = bench.issuer.headers(groups=[f"/schools/{SCHOOL}/student"])
        async with running(create_app(bench.settings(Settings))) as client:
            timed = await time_lists(
                client, base, lists, params=term, headers=headers, label=label, rounds=rounds
            )
            trivial = await time_get(
                client,
                f"/api/course-outcomes/v1/schools/{SCHOOL}/me/courses",
                params=term,
                headers=student,
                rounds=sum(len(q) for q in lists.values()) * (rounds - 1),
            )
            xlsx = await time_download(
                client, base, "students.xlsx", params=term, headers=headers, label=label
            )
    every = [t for timings in timed.values() for t in timings]
    return [
        Row(
            "P6",
            f"course-outcomes status lists, {students} students ({len(every)} requests)",
            f"p50 {p50(every):.0f} / p95 {p95(every):.0f} ms",
            f"trivial GET p95 {p95(trivial):.1f} ms",
            p95(every) / p95(trivial),
            f"p95 < {STATUS_GOAL_MS:.0f} ms",
            p95(every) < STATUS_GOAL_MS,
        ),
        Row(
            "P6",
            f"course-outcomes students.xlsx, {students} students",
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
