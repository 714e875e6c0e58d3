"""Issue #19 "Property-based API testing": Schemathesis against every service's OpenAPI document,
through the gateway, as a student, a 導師, the school's admin, a district operator and a staff
member holding the submitter, manager and counselor roles.

The document is the one the gateway publishes (`/api/openapi.json`: every service's own, merged,
plus the answers the gateway itself gives). Every operation of a service gets a small, fixed set
of generated requests — the same ones every run — and every answer must be no 5xx, a declared
status code, a declared content type and a body matching the declared schema. Nothing is
excluded: every `/api/<service>/` operation in the document is run (docs/reliability.md,
"Property-based API testing").
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SERVICES = ("identity", "course-outcomes", "performances", "guidance", "exports")
COURSE = "108011302H11101A1010101"
TERM = {"academic_year": 115, "semester": 1}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Examples per operation, by how they are generated:
# - in_school: valid requests whose school, term (115-1), student, class and teacher parameters
#   (path and query) are the set-up school's real ones, so they reach its data;
# - positive: valid requests with everything but the school generated;
# - negative: invalid requests (schemathesis' negative mode: wrong types, missing fields, no
#   token), which must be refused with a declared 4xx.
# Small and fixed so that the module fits in CI; the callers take turns over an operation's
# examples, so each caller meets every operation.
EXAMPLES = {"in_school": 3, "positive": 2, "negative": 2}
PROBLEMS_SHOWN = 600  # characters of a failure's message in the test's report


@dataclass
class Totals:
    """What one service's run did."""

    operations: int = 0
    examples: int = 0
    answered_2xx: set[str] = field(default_factory=set)  # operations that did real work
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def _examples(strategy: Any, count: int) -> list[Case]:
    """`count` cases drawn from `strategy`, the same ones every run: derandomized, generation
    only (no shrinking, no replay of an example database)."""
    drawn: list[Case] = []

    @hypothesis.settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
    )
    @hypothesis.given(strategy)
    def draw(case: Case) -> None:
        drawn.append(case)

    with contextlib.suppress(Unsatisfiable):  # nothing invalid to generate (no parameters)
        draw()
    return drawn


def _report(case: Case, role: str, response: Any, failure: Exception) -> str:
    title = getattr(failure, "title", type(failure).__name__)
    message = str(getattr(failure, "message", failure))[:PROBLEMS_SHOWN]
    answer = response.content[:300].decode(errors="replace")
    return (
        f"{case.operation.label} as {role} → {response.status_code}: {title}\n"
        f"    {message}\n"
        f"    request: {case.method} {case.formatted_path} query={case.query} "
        f"body={str(case.body)[:200]}\n"
        f"    answer: {answer}"
    )


def _run(
    schema: schemathesis.BaseSchema,
    *,
    service: str,
    base_url: str,
    known: Mapping[str, object],
    callers: Mapping[str, Callable[[], dict[str, str]]],
) -> Totals:
    """Generate, send and check every operation of `service`. Runs in a worker thread: the
    servers answer on the test's event loop."""
    totals = Totals()
    prefix = f"/api/{service}/"
    roles = list(callers)
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            if not operation.path.startswith(prefix):
                continue
            totals.operations += 1
            in_path = {p.name for p in operation.path_parameters}
            in_query = {p.name for p in operation.query}
            school = {k: v for k, v in known.items() if k == "school_code" and k in in_path}
            cases = [
                *_examples(
                    operation.as_strategy(
                        GenerationMode.POSITIVE,
                        path_parameters={k: v for k, v in known.items() if k in in_path},
                        query={k: v for k, v in known.items() if k in in_query} or None,
                    ),
                    EXAMPLES["in_school"],
                ),
                *_examples(
                    operation.as_strategy(GenerationMode.POSITIVE, path_parameters=school),
                    EXAMPLES["positive"],
                ),
                *_examples(
                    operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=school),
                    EXAMPLES["negative"],
                ),
            ]
            for index, case in enumerate(cases):
                role = roles[(index + totals.operations) % len(roles)]
                headers = callers[role]()
                response = case.call(base_url=base_url, session=session, headers=headers)
                totals.examples += 1
                status = response.status_code
                totals.statuses[status] = totals.statuses.get(status, 0) + 1
                if 200 <= status < 300:
                    totals.answered_2xx.add(operation.label)
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except FailureGroup as group:
                    totals.failures.extend(
                        _report(case, role, response, failure) for failure in group.exceptions
                    )
    return totals


async def _set_up(
    campus: Any,
) -> tuple[dict[str, object], dict[str, Callable[[], dict[str, str]]], str]:
    """A school with people, a class, 修課紀錄 and open windows: the parameter values that
    reach its data, the callers (each call mints a fresh token) and the staff member's id."""
    school = await campus.set_up_school(
        staff_csv="教師編號,姓名,email\nT001,陳導師,\nT002,王組長,\n",
        classes_csv="班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n",
        students_csv=(
            "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n"
            "110001,林同學,101,1,A123456789,0970501,在籍\n"
            "110002,吳同學,101,2,F131104093,0970812,在籍\n"
        ),
        course_records=(
            "學年度,學期,學號,課程代碼,科目名稱,學分,開課年級,授課教師,修課類別\n"
            f"115,1,110001,{COURSE},國語文,4,1,T001,學期課程\n"
            f"115,1,110002,{COURSE},國語文,4,1,T001,學期課程\n"
        ),
        importer="T002",
    )
    student, homeroom, staff = (
        school.students["110001"],
        school.staff["T001"],
        school.staff["T002"],
    )
    known: dict[str, object] = {
        "school_code": campus.school,
        "academic_year": 115,
        "semester": 1,
        "student_id": student,
        "class_code": "101",
        "person_id": homeroom,
    }
    staff_roles = (
        "course_submitter",
        "performance_submitter",
        "cadre_submitter",
        "performance_item_manager",
        "certificate_manager",
        "counselor",
    )
    callers: dict[str, Callable[[], dict[str, str]]] = {
        "student": lambda: campus.as_(student, "student"),
        "homeroom_teacher": lambda: campus.as_(homeroom, "homeroom_teacher", "course_teacher"),
        "admin": lambda: dict(school.admin),
        "district_operator": lambda: campus.issuer.headers(groups=["/district/operators"]),
        "staff": lambda: campus.as_(staff, *staff_roles),
    }
    return known, callers, staff


async def _created(
    campus: Any, method: str, url: str, what: str, headers: dict[str, str], **kwargs: Any
) -> dict[str, Any]:
    """The body of a write that must succeed, waiting (up to 20 s) while the service has not
    yet learnt identity's people from its events."""
    deadline = time.monotonic() + 20
    while True:
        response = await campus.gateway.request(method, url, headers=headers, **kwargs)
        if response.status_code in (200, 201):
            body: dict[str, Any] = response.json()
            return body
        assert time.monotonic() < deadline, f"{what}: {response.status_code} {response.text}"
        await asyncio.sleep(0.2)


async def _seeded(campus: Any, service: str, known: dict[str, object], staff: str) -> None:
    """Records of the service's own for the in-school examples to reach (their ids in `known`):
    a 課程學習成果, a 多元表現, a 課程諮詢紀錄 and a 學習計畫."""
    student = campus.as_(str(known["student_id"]), "student")
    if service == "course-outcomes":
        courses = await campus.gateway.get(
            f"{campus.courses}/me/courses", params=TERM, headers=student
        )
        outcome = await _created(
            campus, "POST", f"{campus.courses}/outcomes", "an outcome", student,
            json={"enrolment_id": courses.json()[0]["enrolment_id"],
                  "outcome_type": "實作作品", "brief": "自製的詩歌朗誦影片腳本"},
        )  # fmt: skip
        known["outcome_id"] = outcome["id"]
    elif service == "performances":
        now = datetime.now(UTC)
        await _created(
            campus, "PATCH", f"{campus.performances}/parameters/115", "the fill window",
            {**campus.as_(staff, "performance_submitter"),
             "content-type": "application/merge-patch+json"},
            json={f"{window}_{edge}": (now + timedelta(days=-1 if edge == "from" else 9))
                  .isoformat() for window in ("fill", "select") for edge in ("from", "until")},
        )  # fmt: skip
        record = await _created(
            campus, "POST", f"{campus.performances}/performances", "a 多元表現", student,
            json={"academic_year": 115, "category": "service", "brief": "社區淨灘志工",
                  "fields": {"name": "淨灘", "organisation": "海洋保育協會",
                             "start_date": "115/09/05", "end_date": "115/09/05", "hours": "4"}},
        )  # fmt: skip
        known["record_id"] = record["id"]
    elif service == "guidance":
        record = await _created(
            campus, "POST", f"{campus.guidance}/counseling", "a 課程諮詢紀錄",
            campus.as_(staff, "counselor"),
            json={"held_on": "115/10/06", "mode": "individual",
                  "student_ids": [known["student_id"]], "topic": "選課", "content": "選組討論"},
        )  # fmt: skip
        plan = await _created(
            campus,
            "PUT",
            f"{campus.guidance}/me/writings/study_plan",
            "a 學習計畫",
            student,
            json={"text": "高一：探索興趣。"},
        )
        known.update(record_id=record["id"], writing_id=plan["id"], number=1)


@pytest.mark.parametrize("service", SERVICES)
async def test_every_operation_answers_as_its_document_says(
    campus: Any, service: str, request: pytest.FixtureRequest
) -> None:
    known, callers, staff = await _set_up(campus)
    await _seeded(campus, service, known, staff=staff)
    document = await campus.gateway.get("/api/openapi.json", headers=callers["admin"]())
    assert document.status_code == 200, document.text
    assert "Unavailable" not in document.json()["info"]["description"]
    schema = schemathesis.openapi.from_dict(document.json(), config=schemathesis.Config())
    started = time.monotonic()
    totals = await asyncio.to_thread(
        _run,
        schema,
        service=service,
        base_url=str(campus.gateway.base_url).rstrip("/"),
        known=known,
        callers=callers,
    )
    line = (
        f"SCHEMATHESIS service={service} operations={totals.operations} "
        f"examples={totals.examples} failures={len(totals.failures)} "
        f"answered_2xx={len(totals.answered_2xx)} seconds={time.monotonic() - started:.1f} "
        f"statuses={dict(sorted(totals.statuses.items()))}"
    )
    print(line)
    # What `record_property` does (JUnit XML properties, and the run's summary in
    # tests/conftest.py), without its warning under the default junit_family (xunit2).
    request.node.user_properties.extend(
        [
            ("schemathesis_operations", totals.operations),
            ("schemathesis_examples", totals.examples),
            ("schemathesis_failures", len(totals.failures)),
            ("schemathesis_answered_2xx", len(totals.answered_2xx)),
        ]
    )
    assert totals.operations >= 20, line  # the document lists the service's operations
    assert totals.answered_2xx, line  # some requests reached the school's data
    assert not totals.failures, line + "\n" + "\n".join(totals.failures)
