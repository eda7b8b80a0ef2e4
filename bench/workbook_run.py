"""Benchmark `make run`: the stack-and-service tour, and every chapter executed by papermill."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import BenchError, Figure, repeat, timing

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS_GOAL_S = 150.0  # all chapters executed with solutions, 2 cores (issue 12)
EXERCISES_GOAL = 48  # checked exercises over all chapters (issue 12)
# The chapters that create AWS resources: each should have the learner make the calls (issue 12).
RESOURCE_CHAPTERS = ("03", "04", "05", "06", "07", "08", "09", "10", "11", "13", "15")
# How a chapter checks the learner's own calls against the package: resources compared with
# the reference's plan, or (chapter 13's by-hand teardown) the learner's inventory of what is
# left printed beside the package's. A chapter where the package makes the resources (15's
# walk-through, whose teardown also asks stack.leftovers) does not count.
CHECKED_BY = ("compare.against_reference", "the package's leftovers:")


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
        results = run_all(
            out_dir=Path(out),
            parameters={"SOLUTIONS": True},
            html_reports=False,
            console=Console(quiet=True),
        )
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
               f"{len(results)} chapters, solutions injected, one kernel each, sequential; one run")
    )  # fmt: skip
    return figs


def hands_on() -> list[Figure]:
    """Count the checked exercises and the resource chapters where the learner makes the calls."""
    from workbook.coverage import chapter_files
    from workbook.exercises import exercises_of

    cmd = "python -m bench.run --only workbook_run"
    numbers = [p.name[:2] for p in chapter_files()]
    per_chapter = {n: len(exercises_of(n)) for n in numbers if _has_checks(n)}
    by_hand = [n for n in RESOURCE_CHAPTERS if any(m in _source(n) for m in CHECKED_BY)]
    missing = [n for n in RESOURCE_CHAPTERS if n not in by_hand]
    listed = ", ".join(f"{n}: {k}" for n, k in per_chapter.items())
    total = sum(per_chapter.values())
    return [
        Figure("workbook run", "checked exercises", EXERCISES_GOAL, "exercises", total, [total],
               cmd, f"by chapter: {listed}", higher_is_better=True),
        Figure("workbook run", "resource chapters where the learner makes the AWS calls",
               len(RESOURCE_CHAPTERS), "chapters", len(by_hand), [len(by_hand)], cmd,
               "not yet: " + ", ".join(missing) if missing else "all", higher_is_better=True),
    ]  # fmt: skip


def _has_checks(number: str) -> bool:
    return (ROOT / "workbook" / "checks" / f"ch{number}.py").exists()


def _source(number: str) -> str:
    import nbformat

    from workbook.coverage import chapter_files

    path = next(p for p in chapter_files() if p.name.startswith(number))
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells)


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
    return figs + hands_on() if quick else figs + hands_on() + chapters()
