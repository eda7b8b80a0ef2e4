"""Run every benchmark in bench/ and rewrite BENCHMARKS.md: `python -m bench.run [--quick]`."""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import importlib
import inspect
import json
import multiprocessing
import os
import pkgutil
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import adapters
from bench.figures import Figure
from bench.report import render

ROOT = Path(__file__).resolve().parents[1]
# The slowest benchmarks, slowest first (parallel runs start them first).
LONGEST = ["compare", "soak", "image", "lead_time", "service"]
NOT_BENCHMARKS = {"run", "figures", "adapters", "report", "__main__"}
# Area of each module (a table per area in BENCHMARKS.md, in this order).
AREAS = {
    "service": "service",
    "probe": "probe",
    "image": "container",
    "stack": "stack",
    "dataplane": "data plane",
    "workbook_run": "workbook run",
    "quiz_grading": "quizzes",
    "retrieval": "retrieval",
    "heldout_eval": "held-out answers",
    "soak": "soak",
    "suite": "test suite",
    # Side by side with the guide, after the per-area tables.
    "compare": "guide comparison",
    "lead_time": "commit to production",
}


def discover() -> list[str]:
    """Return the benchmark module names in bench/, in the order of AREAS, then the rest."""
    found = [m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])]
    names = [n for n in found if n not in NOT_BENCHMARKS and not n.startswith("_")]
    order = list(AREAS)
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


def has_run(module) -> bool:
    """Say whether a module exposes the framework's `run(quick: bool) -> list[Figure]`."""
    fn = getattr(module, "run", None)
    if not callable(fn):
        return False
    # A module-level run() with other parameters is not this protocol: it runs as a script.
    return list(inspect.signature(fn).parameters) == ["quick"]


def run_script(name: str, quick: bool) -> dict:
    """Run a script-style benchmark (`python -m bench.NAME --out FILE`); return its JSON."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        out = Path(tmp) / f"{name}.json"
        cmd = [sys.executable, "-m", f"bench.{name}", "--out", str(out)]
        if quick and "--quick" in adapters.script_flags(name):
            cmd.append("--quick")
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout)[-1200:]
            raise RuntimeError(f"`{' '.join(cmd[1:])}` exited {proc.returncode}: {tail}")
        data = json.loads(out.read_text())
    if quick:
        return data  # quick figures never replace the script's own results file
    # Keep the script's own results file up to date, as running it by hand would.
    results = ROOT / "bench" / "results" / f"{name}.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(data, indent=2) + "\n")
    return data


def run_module(name: str, quick: bool) -> list[Figure]:
    """Return one benchmark module's figures (its run(), else its script through an adapter)."""
    area = AREAS.get(name, name)
    module = importlib.import_module(f"bench.{name}")
    if has_run(module):
        return module.run(quick)
    convert = adapters.CONVERTERS.get(name)
    if convert is None:
        run_script(name, quick)
        return [Figure(area, f"`{name}` ran", None, "", None, note="no adapter reads its JSON")]
    repeats = 1 if quick else adapters.REPEATS.get(name, 1)
    warmup = 0 if quick or repeats == 1 else 1
    datas = [run_script(name, quick) for _ in range(warmup + repeats)][warmup:]
    return convert(area, datas)


def run_guarded(name: str, quick: bool) -> tuple[list[Figure], bool]:
    """Run one benchmark; on failure return a figure saying why (and False)."""
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        got, ok = run_module(name, quick), True
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        msg = " ".join(str(exc).split())[:400]
        got, ok = (
            [Figure(AREAS.get(name, name), f"`{name}` failed", None, "", None, note=msg)],
            False,
        )
    print(f"bench: {name} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return got, ok


def run_all(names: list[str], quick: bool, jobs: int) -> tuple[list[Figure], list[str]]:
    """Run the benchmarks (`jobs` at once, each in its own process when > 1), in order."""
    if jobs == 1:
        results = [run_guarded(name, quick) for name in names]
    else:
        # Separate processes: benchmarks set environment variables and start servers.
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            # The longest first, so the short ones fill the gaps; the report keeps `names` order.
            start = sorted(names, key=lambda n: LONGEST.index(n) if n in LONGEST else len(LONGEST))
            futures = {name: pool.submit(run_guarded, name, quick) for name in start}
            results = [futures[name].result() for name in names]
    figures = [f for got, _ in results for f in got]
    broken = [name for name, (_, ok) in zip(names, results, strict=True) if not ok]
    return figures, broken


def keep_previous(
    as_json: Path, figures: list[Figure], areas: list[str], dates: dict[str, str]
) -> tuple[list[Figure], list[str]]:
    """Add the previous report's figures for the areas this run (--only) did not measure."""
    if not as_json.exists():
        return figures, areas
    old = json.loads(as_json.read_text())
    fields = {f.name for f in dataclasses.fields(Figure)}
    old_dates = old["machine"].get("area_dates", {})
    for item in old["figures"]:
        if item["area"] in areas:
            continue
        figures.append(Figure(**{k: v for k, v in item.items() if k in fields}))
        dates.setdefault(item["area"], old_dates.get(item["area"], old["machine"]["date"]))
    order = list(AREAS.values())
    every = list(dict.fromkeys([*areas, *(f.area for f in figures)]))
    every.sort(key=lambda a: order.index(a) if a in order else len(order))
    return figures, every


def machine() -> dict:
    """Describe the machine the figures come from."""
    try:
        import psutil

        memory_gb = psutil.virtual_memory().total / 2**30
    except ImportError:
        kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        memory_gb = kb / 2**20
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        "load_before": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; write the report and the figures' JSON; return 0 unless one broke."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="every measurement once, short")
    parser.add_argument("--only", help="comma-separated module names (e.g. service,stack)")
    parser.add_argument("--out", type=Path, help="report path (default BENCHMARKS.md; "
                        "quick: build/BENCHMARKS-quick.md)")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=None,
                        help="benchmarks run at once (default: 2 in quick mode, where speed is "
                        "not judged; 1 in a full run, so no figure competes for the cores)")  # fmt: skip
    args = parser.parse_args(argv)
    names = discover()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {names}")
        names = [n for n in names if n in wanted]
    out = args.out or (
        ROOT / "build" / "BENCHMARKS-quick.md" if args.quick else ROOT / "BENCHMARKS.md"
    )
    info = machine()
    started = time.perf_counter()
    jobs = args.jobs if args.jobs is not None else (2 if args.quick else 1)
    if jobs < 1:
        parser.error(f"--jobs must be at least 1, got {jobs}")
    figures, broken = run_all(names, args.quick, jobs)
    info["load_after"] = os.getloadavg()
    info["took_s"] = round(time.perf_counter() - started)
    info["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    info["mode"] = "quick (each figure measured once; speeds not judged)" if args.quick else "full"
    if args.only:
        info["mode"] += f", only {args.only}"
    areas = list(dict.fromkeys(AREAS.get(n, n) for n in names))
    default = out == ROOT / "BENCHMARKS.md"
    as_json = (
        ROOT / "bench" / "results" / "benchmarks.json" if default else out.with_suffix(".json")
    )
    info["area_dates"] = {area: info["date"] for area in areas}
    if default and args.only:
        figures, areas = keep_previous(as_json, figures, areas, info["area_dates"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(figures, info, quick=args.quick, areas=areas))
    as_json.parent.mkdir(parents=True, exist_ok=True)
    as_json.write_text(
        json.dumps({"machine": info, "figures": [f.to_dict() for f in figures]}, indent=2) + "\n"
    )
    print(f"bench: wrote {out}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
