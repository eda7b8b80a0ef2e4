"""Benchmarks: each module yields Figures; `python -m bench.run` writes BENCHMARKS.md."""
