"""Benchmark `make run`: the stack-and-service tour, and every chapter executed by papermill."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import BenchError, Figure, repeat, timing

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS_GOAL_S = 120.0  # all chapters executed, 2 cores (issue: the workbook)


def tour_once() -> float:
    """Run `workbook run --no-notebooks` in a fresh process; return its wall time."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "workbook.cli", "run", "--no-notebooks"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    took = time.perf_counter() - start
    if proc.returncode != 0:
        text = (proc.stdout + proc.stderr).splitlines()
        clues = [line.strip() for line in text if "rror" in line or "FAIL" in line.upper()]
        raise BenchError(
            f"workbook run exited {proc.returncode}; lines naming errors: "
            + (" / ".join(clues[-5:]) or "none (see `python -m workbook.cli run`)")
        )
    return took


def chapters() -> list[Figure]:
    """Execute every chapter once (papermill, BACKEND=moto); return per-chapter and total times."""
    from rich.console import Console

    from workbook.notebooks import run_all

    with tempfile.TemporaryDirectory() as out:
        results = run_all(out_dir=Path(out), html_reports=False, console=Console(quiet=True))
    failed = [r.path.name for r in results if not r.ok]
    if failed:
        raise BenchError(f"chapters failed: {', '.join(failed)}")
    cmd = "python -m bench.run --only workbook_run"
    figs = [
        Figure("workbook run", f"chapter {r.path.stem}", None, "s", r.seconds, [r.seconds], cmd)
        for r in results
    ]
    total = sum(r.seconds for r in results)
    figs.append(
        Figure("workbook run", "all chapters executed", CHAPTERS_GOAL_S, "s", total, [total], cmd,
               f"{len(results)} chapters, one kernel each, sequential; one run")
    )  # fmt: skip
    return figs


def run(quick: bool) -> list:
    """Return the tour's wall time (fresh process each run) and the chapters' times."""
    samples = repeat(tour_once, 1 if quick else 5, warmup=0 if quick else 1)
    figs = [
        timing(
            "workbook run",
            "`workbook run --no-notebooks` end to end",
            None,
            samples,
            command="python -m bench.run --only workbook_run",
            note="fresh process: moto start, stack apply ×2, status, service start, 3 answers",
        )
    ]
    return figs if quick else figs + chapters()
