"""Benchmark: building 名冊 25 (學生自填多元表現名冊) for a whole district, no database.

Run:  uv run python -m bench.roster_build [--students 45000] [--records 10]
Without `--students` it runs a district of 4,500 and one of 45,000 students. Each student has
`--records` 多元表現 records (every category, about 70% with proof files, a few briefs over
several lines or starting with `-`), drawn from a pool of 5,000 synthetic records so the
generator costs next to nothing. Two ways of writing the same rows are timed, each size and
way in a fresh process so their peak memory is their own:

- `roster`: `layout.performance_row` (neutralised cells, dates, the catalog's columns) into
  `RosterWorkbookWriter` (cover, every sheet, fixed-time ZIP), as a roster job does;
- `bare`: the same cell values, computed before timing, appended to a bare openpyxl write-only
  workbook and saved with `Workbook.save`.

It prints rows/s for both, their ratio (goal ≥ 0.8), the file size and the peak RSS
(VmHWM; goal flat across sizes and < 300 MB).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from bench.rows import Row
from licheng.contracts.rosters import RosterCode
from licheng.exports.rosters.cells import Cell
from licheng.exports.rosters.layout import (
    CATEGORY_SHEETS,
    CertificateInfo,
    Identifiers,
    attachment_names,
    performance_row,
    roster_sheets,
)
from licheng.exports.rosters.workbook import RosterWorkbookWriter

POOL = 5000
SIZES = (4500, 45000)
FIXED = datetime(2026, 12, 1, tzinfo=UTC)
CERTIFICATES = {
    f"C{n:03d}": CertificateInfo(f"證照{n}", "語文", "發照單位", domestic=n % 3 > 0)
    for n in range(50)
}
WORDS = "學生參與活動表現優異積極主動負責團隊合作服務社區學習成長反思收穫"


@dataclass(frozen=True, slots=True)
class Record:
    """A 多元表現 record with only what the roster needs (as the read model's row has it)."""

    category: str
    fields: dict[str, Any]
    brief: str
    video_url: str | None
    record_id: uuid.UUID
    files: list[dict[str, Any]]


def _text(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _iso(rng: random.Random) -> str:
    return (date(2026, 8, 1) + timedelta(days=rng.randrange(300))).isoformat()


def _field_value(rng: random.Random, name: str, is_date: bool) -> Any:
    if is_date:
        return _iso(rng)
    if name in ("hours", "credits", "total_hours"):
        return rng.randint(1, 80) / 2
    if name in ("level", "team", "kind"):
        return str(rng.randint(1, 4))
    if name in ("offered_year", "activity_year"):
        return 115
    if name in ("offered_semester", "activity_semester"):
        return rng.randint(1, 2)
    if name in ("periods_per_week", "weeks", "periods"):
        return rng.randint(1, 18)
    if name == "certificate_code":
        return f"C{rng.randrange(60):03d}"  # a few are not in the catalog
    return _text(rng, 2, 12)


def _record(rng: random.Random) -> Record:
    sheet = rng.choice(CATEGORY_SHEETS)
    fields = {
        column.name: _field_value(rng, column.name, column.is_date)
        for column in sheet.fields
        if rng.random() < 0.9
    }
    brief = _text(rng, 20, 200)
    roll = rng.random()
    if roll < 0.05:
        brief = "- " + brief
    elif roll < 0.15:
        brief = brief + "\r\n" + _text(rng, 10, 50)
    files = [{"kind": rng.choice(("pdf", "jpg"))} for _ in range(rng.choice((0, 1, 1, 2)))]
    video = f"https://video.example/{rng.randrange(10**6)}" if rng.random() < 0.2 else None
    return Record(sheet.category, fields, brief, video, uuid.UUID(int=rng.getrandbits(128)), files)


def _students(count: int) -> list[Identifiers]:
    rng = random.Random(45)
    return [
        Identifiers(
            f"{rng.choice('ABCDEFGH')}{rng.choice('12')}{rng.randrange(10**8):08d}",
            date(2008, 1, 1) + timedelta(days=rng.randrange(1000)),
        )
        for _ in range(count)
    ]


def _pool() -> list[tuple[Record, list[str]]]:
    rng = random.Random(115)
    records = [_record(rng) for _ in range(POOL)]
    return [(r, attachment_names(r.record_id, r.files)) for r in records]


def build_roster(path: Path, students: int, records: int) -> tuple[int, float]:
    """名冊 25 through the layout and the roster writer; the rows written and the seconds."""
    pool = _pool()
    people = _students(students)
    started = time.perf_counter()
    writer = RosterWorkbookWriter(
        path,
        roster_code=RosterCode.PERFORMANCES,
        fixed_time=FIXED,
        school_code="011302",
        academic_year=115,
        semester=0,
    )
    n = 0
    for who in people:
        for _ in range(records):
            record, names = pool[n % POOL]
            writer.append(
                *performance_row(record, who=who, attachments=names, certificates=CERTIFICATES)
            )
            n += 1
    writer.close()
    return n, time.perf_counter() - started


def build_bare(path: Path, students: int, records: int) -> tuple[int, float]:
    """The same cells, computed before timing, through a bare write-only workbook; the rows
    written and the seconds."""
    pool = _pool()
    people = _students(students)
    anyone = Identifiers("A123456789", date(2008, 1, 1))
    rows: list[tuple[str, list[Cell]]] = []
    for record, names in pool:
        sheet, cells = performance_row(
            record, who=anyone, attachments=names, certificates=CERTIFICATES
        )
        rows.append((sheet, cells[2:]))
    ids = [(who.national_id, who.birth_date.strftime("%Y/%m/%d")) for who in people]
    started = time.perf_counter()
    book = Workbook(write_only=True)
    cover = book.create_sheet("封面")
    cover.append(["學校代碼", "學年度", "學期", "名冊別"])
    cover.append(["011302", 115, 0, "25"])
    sheets = {}
    for layout in roster_sheets(RosterCode.PERFORMANCES):
        sheets[layout.name] = book.create_sheet(layout.name)
        sheets[layout.name].append(list(layout.columns))
    n = 0
    for national_id, birth in ids:
        for _ in range(records):
            sheet, rest = rows[n % POOL]
            sheets[sheet].append([national_id, birth, *rest])
            n += 1
    book.save(str(path))
    return n, time.perf_counter() - started


def child(mode: str, students: int, records: int) -> None:
    """Build one workbook in this process and print its figures as JSON."""
    with tempfile.TemporaryDirectory(prefix="licheng-bench-") as folder:
        path = Path(folder) / f"{mode}.xlsx"
        build = build_roster if mode == "roster" else build_bare
        rows, seconds = build(path, students, records)
        size = path.stat().st_size
    print(json.dumps({"rows": rows, "seconds": seconds, "bytes": size, "peak_kib": _peak_kib()}))


def _peak_kib() -> int:
    """This process's peak RSS: VmHWM, which starts afresh at exec (`ru_maxrss` would carry
    over a large parent's peak, e.g. the suite's)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _measure(mode: str, students: int, records: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.roster_build", "--child", mode]
    command += ["--students", str(students)]
    command += ["--records", str(records)]
    root = Path(__file__).resolve().parents[1]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=root).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


RATIO_GOAL = 0.8
RSS_GOAL_MIB = 300


def measure(students: int, records: int = 10) -> list[Row]:
    """名冊 25 both ways in fresh processes; the table's row."""
    roster = _measure("roster", students, records)
    bare = _measure("bare", students, records)
    roster_rate = roster["rows"] / roster["seconds"]
    bare_rate = bare["rows"] / bare["seconds"]
    ratio = roster_rate / bare_rate
    rss = roster["peak_kib"] / 1024
    return [
        Row(
            "R25",
            f"名冊 25 build, {roster['rows']:,} rows (no database)",
            f"{roster_rate:,.0f} rows/s, peak RSS {rss:.0f} MiB",
            f"bare openpyxl {bare_rate:,.0f} rows/s",
            ratio,
            f"≥ {RATIO_GOAL}×, RSS < {RSS_GOAL_MIB} MiB",
            ratio >= RATIO_GOAL and rss < RSS_GOAL_MIB,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, action="append")
    parser.add_argument("--records", type=int, default=10)
    parser.add_argument("--child", choices=("roster", "bare"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.child, options.students[0], options.records)
        return
    for students in options.students or SIZES:
        roster = _measure("roster", students, options.records)
        bare = _measure("bare", students, options.records)
        roster_rate = roster["rows"] / roster["seconds"]
        bare_rate = bare["rows"] / bare["seconds"]
        print(
            f"名冊 25, {students} students × {options.records} records = {roster['rows']} rows: "
            f"roster {roster_rate:,.0f} rows/s ({roster['seconds']:.1f} s, "
            f"{roster['bytes'] / 2**20:.1f} MiB, peak RSS {roster['peak_kib'] / 1024:.0f} MiB); "
            f"bare openpyxl {bare_rate:,.0f} rows/s ({bare['seconds']:.1f} s, "
            f"peak RSS {bare['peak_kib'] / 1024:.0f} MiB); ratio {roster_rate / bare_rate:.2f}"
        )


if __name__ == "__main__":
    main()
