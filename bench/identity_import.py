"""Benchmark: importing a 2,000-student xlsx into identity on the test PostgreSQL.

Run after `./licheng infra up`:  uv run python -m bench.identity_import [--students 2000]
Prints rows/s for the first import (every row created, encrypted, audited, announced) and for
a re-import of the same file (validated and compared, nothing written), beside the reference
measured in the same run: reading and validating the same file alone (`read_table` +
`parse_students`, no database), the part of the import that cannot be avoided.
"""

from __future__ import annotations

import random
import time
import uuid

from bench._support import CLASSES, bench_database, run
from bench.rows import Row, render
from licheng.identity.app import create_app
from licheng.identity.cli import MIGRATIONS_DIR
from licheng.identity.imports import is_valid_national_id
from licheng.identity.imports.students import parse_students
from licheng.identity.settings import Settings
from licheng.kit.tabular.tables import read_table
from licheng.testing.apps import running
from licheng.testing.workbooks import xlsx_bytes


def national_id(rng: random.Random) -> str:
    stem = (
        rng.choice("ABCDEFGHJKLMNPQRSTUVXYWZIO") + rng.choice("12") + f"{rng.randrange(10**7):07d}"
    )
    return next(stem + str(d) for d in range(10) if is_valid_national_id(stem + str(d)))


def _students(count: int) -> bytes:
    rng = random.Random(115)
    seen: set[str] = set()
    rows: list[list[object]] = []
    for n in range(count):
        nid = national_id(rng)
        while nid in seen:
            nid = national_id(rng)
        seen.add(nid)
        rows.append(
            [
                f"{110000 + n}",
                f"學生{n:04d}",
                CLASSES[n % len(CLASSES)],
                n // len(CLASSES) + 1,
                nid,
                f"09{rng.randrange(5, 8)}0{rng.randrange(1, 10)}15",
                "在籍",
            ]
        )
    return xlsx_bytes(["學號", "姓名", "班級", "座號", "身分證號", "出生日期", "在籍狀態"], rows)


def parsing_rate(data: bytes, count: int) -> float:
    """Rows/s of reading and validating the file alone (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        parsed = parse_students(
            read_table(data, "students.xlsx"), known_class_codes=frozenset(CLASSES)
        )
        best = min(best, time.perf_counter() - started)
    assert len(parsed.rows) == count, parsed
    return count / best


async def measure(count: int, *, quick: bool = False) -> list[Row]:
    """Both imports through the HTTP API and the parsing alone; the table's rows."""
    rates: dict[str, float] = {}
    async with bench_database("bench_identity", MIGRATIONS_DIR) as bench:
        school = f"{random.randrange(10**6):06d}"
        admin = bench.issuer.headers(person_id=uuid.uuid4(), groups=[f"/schools/{school}/admin"])
        async with running(create_app(bench.settings(Settings))) as client:
            await client.post(
                "/api/identity/v1/schools",
                headers=bench.issuer.headers(groups=["/district/operators"]),
                json={
                    "code": school,
                    "name": "效能測試高中",
                    "academic_year": 115,
                    "semester": 1,
                    "admin": {"staff_no": "A1", "name": "管理"},
                },
            )
            classes = xlsx_bytes(["班級代碼", "年級"], [[c, int(c[0])] for c in CLASSES])
            await client.post(
                f"/api/identity/v1/schools/{school}/imports/classes",
                files={"file": ("c.xlsx", classes)},
                headers=admin,
            )
            data = _students(count)
            for label in ("first import (creates)", "re-import (no-op)"):
                started = time.perf_counter()
                response = await client.post(
                    f"/api/identity/v1/schools/{school}/imports/students",
                    files={"file": ("students.xlsx", data)},
                    headers=admin,
                    timeout=300,
                )
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.text
                rates[label] = count / elapsed
                print(
                    f"{label:24} {count} rows in {elapsed:6.2f} s = {count / elapsed:8.0f} rows/s"
                    f"  {response.json()}"
                )
    parsing = parsing_rate(data, count)
    print(f"{'parsing alone':24} {count} rows: {parsing:8.0f} rows/s")
    first, again = rates["first import (creates)"], rates["re-import (no-op)"]
    return [
        Row(
            "P7",
            f"identity student import, {count} rows, first (creates)",
            f"{first:,.0f} rows/s",
            f"parsing alone {parsing:,.0f} rows/s",
            first / parsing,
            "—",
            None,
        ),
        Row(
            "P7",
            f"identity student import, {count} rows, again (no-op)",
            f"{again:,.0f} rows/s",
            f"parsing alone {parsing:,.0f} rows/s",
            again / parsing,
            "—",
            None,
        ),
    ]


async def main(count: int) -> None:
    print(render(await measure(count)))


if __name__ == "__main__":
    run(main, __doc__)
