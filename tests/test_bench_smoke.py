"""`python -m bench --quick` runs every benchmark on the provisioned infrastructure and prints
the one table with a row for each; no figure is asserted (nothing in the tests is timed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ("P2", "P3", "P4", "P5", "P6", "P7", "R25")


def test_quick_suite_prints_a_row_for_every_benchmark() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = finished.stdout
    assert finished.returncode == 0, finished.stderr[-3000:]
    table = output[output.index("Licheng benchmarks") :].splitlines()
    header = [cell.strip() for cell in table[1].split("|")]
    assert header == ["id", "what", "figure", "reference (same run)", "ratio", "goal", "holds?"]
    rows = [[cell.strip() for cell in line.split("|")] for line in table[3:] if "|" in line]
    assert {row[0] for row in rows} == set(BENCHMARKS)
    failed = [row for row in rows if row[2].startswith("failed")]
    assert not failed, f"{failed}\n{finished.stderr[-3000:]}"
    assert all(row[6] in ("yes", "NO", "—") for row in rows)
