"""Benchmark `workbook run` (what `make run` does after install): stack, service, answers."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.figures import BenchError, repeat, timing

ROOT = Path(__file__).resolve().parents[1]


def once() -> float:
    """Run `python -m workbook.cli run` in a fresh process; return its wall time."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "workbook.cli", "run"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    took = time.perf_counter() - start
    if proc.returncode != 0:
        text = (proc.stdout + proc.stderr).splitlines()
        clues = [line.strip() for line in text if "rror" in line or "FAIL" in line.upper()]
        raise BenchError(
            f"workbook run exited {proc.returncode}; lines naming errors: "
            + (" / ".join(clues[-5:]) or "none (see `python -m workbook.cli run`)")
        )
    return took


def run(quick: bool) -> list:
    """Return the wall time of a whole `workbook run` (fresh process each time)."""
    samples = repeat(once, 1 if quick else 5, warmup=0 if quick else 1)
    return [
        timing(
            "workbook run",
            "`workbook run` end to end",
            None,
            samples,
            command="python -m bench.run --only workbook_run",
            note="fresh process: moto start, stack apply ×2, status, service start, 3 answers",
        )
    ]
