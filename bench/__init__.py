"""Licheng's benchmarks: each module runs alone (`uv run python -m bench.<module>`) and the
suite (`uv run python -m bench`) prints them all in one table; see bench/README.md."""
