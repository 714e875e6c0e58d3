"""`uv run python -m bench`: the benchmark suite's table (see `bench.suite`)."""

from __future__ import annotations

from bench.suite import main

main()
