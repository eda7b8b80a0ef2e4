"""Report `make test`'s wall time, as `make test` itself recorded it (the suite is not re-run).

`make test` times itself (install, system packages and every test) and calls
`python -m bench.suite record ...` when it ends; `run()` reads the newest passing record into
BENCHMARKS.md. Running the whole suite from `make bench` would take ten minutes more and
compete with the other benchmarks for the cores, so the figure comes from the real run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.figures import Figure

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "build" / "test-suite.json"
AREA = "test suite"
GOAL_S = 600.0  # issue 11: `make test` <= 10 min on the 2-core machine
KEEP = 20  # records kept, newest last


def record(
    started: float, tests_started: float, rc: int, workers: str, path: Path = RECORD
) -> dict:
    """Append one `make test` run (epoch seconds of its start and its tests' start) to `path`."""
    now = time.time()
    entry = {
        "date": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "total_s": round(now - started, 1),
        "setup_s": round(tests_started - started, 1),
        "tests_s": round(now - tests_started, 1),
        "exit_code": rc,
        "workers": workers,
        "cores": os.cpu_count(),
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    runs = read(path)
    runs.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(runs[-KEEP:], indent=2) + "\n")
    return entry


def read(path: Path = RECORD) -> list[dict]:
    """Return the recorded runs, oldest first (none when `make test` has not run here)."""
    try:
        runs = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return runs if isinstance(runs, list) else []


def run(quick: bool) -> list[Figure]:
    """Return the newest passing `make test` run's wall time, split into set-up and tests."""
    passing = [r for r in read(RECORD) if r.get("exit_code") == 0]
    if not passing:
        note = "no passing `make test` run is recorded on this machine (build/test-suite.json)"
        return [Figure(AREA, "`make test` wall time", GOAL_S, "s", None, note=note)]
    last = passing[-1]
    where = (
        f"recorded by `make test` on {last['date']}, {last['workers']} pytest workers, "
        f"{last['cores']} cores, load after {last['load_after'][0]:.1f}"
    )
    return [
        Figure(AREA, "`make test` wall time (set-up + every test)", GOAL_S, "s",
               last["total_s"], [last["total_s"]], "make test", where),
        Figure(AREA, "  of which set-up (venv sync, system packages)", None, "s",
               last["setup_s"], [last["setup_s"]], "make test", "a clean machine installs more"),
        Figure(AREA, "  of which the tests (pytest)", None, "s",
               last["tests_s"], [last["tests_s"]], "make test", ""),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """`record STARTED TESTS_STARTED RC WORKERS`: append a run; otherwise print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    rec = sub.add_parser("record", help="append one make test run to build/test-suite.json")
    rec.add_argument("started", type=float, help="epoch seconds when make test started")
    rec.add_argument("tests_started", type=float, help="epoch seconds when pytest started")
    rec.add_argument("rc", type=int, help="pytest's exit code")
    rec.add_argument("workers", help="pytest-xdist workers")
    args = parser.parse_args(argv)
    if args.command == "record":
        entry = record(args.started, args.tests_started, args.rc, args.workers)
        print(f"make test: {entry['total_s']:.0f} s (tests {entry['tests_s']:.0f} s)")
        return 0
    for fig in run(quick=False):
        print(f"{fig.name}: {fig.value} {fig.unit} ({fig.note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
