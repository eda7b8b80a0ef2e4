"""Benchmark the stack on moto: apply (cold and warm, per module), plan, teardown."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench.figures import BenchError, Figure, median, timing

ROOT = Path(__file__).resolve().parents[1]
AREA = "stack"
CMD = "python -m bench.run --only stack"
APPLY_GOAL_S = 10.0
TEARDOWN_GOAL_S = 5.0
PLAN_GOAL_S = 2.0
OPTIONS = {"budget": {"email": "learner@example.com"}}


def _timed_apply(names) -> tuple[float, dict[str, float]]:
    """Run stack.apply and time each module's ensure(); return (total, per module)."""
    from deploy import stack

    per: dict[str, float] = {}
    real = stack.module

    class Timed:
        def __init__(self, name: str) -> None:
            self.name, self.mod = name, real(name)

        def __getattr__(self, attr: str):
            return getattr(self.mod, attr)

        def ensure(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return self.mod.ensure(*args, **kwargs)
            finally:
                per[self.name] = time.perf_counter() - start

    stack.module = Timed  # this worker process only
    try:
        start = time.perf_counter()
        stack.apply(names, options=OPTIONS, progress=False)
        return time.perf_counter() - start, per
    finally:
        stack.module = real


def worker() -> dict:
    """In a fresh process: start moto, apply/plan/teardown cold, then again warm."""
    t0 = time.perf_counter()
    from deploy import stack
    from deploy.backend import start_backend
    from deploy.names import DEFAULT_NAMES as names

    imported = time.perf_counter()
    backend = start_backend("moto")
    out: dict = {
        "import_s": imported - t0,
        "server_start_s": time.perf_counter() - imported,
    }
    try:
        for phase in ("cold", "warm"):  # warm: the same server again, after the teardown
            total, per = _timed_apply(names)
            start = time.perf_counter()
            changes = stack.plan(names, options=OPTIONS)
            plan_s = time.perf_counter() - start
            pending = [c for c in changes if c.changed]
            start = time.perf_counter()
            report = stack.teardown(names)
            out[phase] = {
                "apply_s": total,
                "modules": per,
                "plan_s": plan_s,
                "plan_pending": len(pending),
                "teardown_s": time.perf_counter() - start,
                "teardown_clean": report.clean,
            }
    finally:
        backend.stop()
    return out


def _spawn() -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.stack", "--worker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise BenchError(f"stack worker failed ({proc.returncode}): {proc.stderr[-1500:]}")
    return json.loads(lines[-1])


def run(quick: bool) -> list[Figure]:
    """Return the stack figures: each sample is a fresh process (cold) plus a warm re-run."""
    runs = [_spawn() for _ in range(1 if quick else 6)]
    if not quick:
        runs = runs[1:]  # the first process warms the OS file cache; it is not counted
    cold = [r["cold"] for r in runs]
    warm = [r["warm"] for r in runs]
    for r in cold + warm:
        if r["plan_pending"] or not r["teardown_clean"]:
            raise BenchError(f"the stack did not converge: {r}")
    cold_note = "first apply after the moto server started (moto imports its backends lazily)"
    figs = [
        timing(AREA, "moto server start (in-process)", None, [r["server_start_s"] for r in runs],
               command=CMD, note=f"imports before it: {median([r['import_s'] for r in runs]):.2f} s"),
        timing(AREA, "apply, whole stack (cold)", APPLY_GOAL_S, [c["apply_s"] for c in cold],
               command=CMD, note=cold_note),
        timing(AREA, "apply, whole stack (warm)", APPLY_GOAL_S, [w["apply_s"] for w in warm],
               command=CMD, note="second apply in the same process, after teardown"),
        timing(AREA, "plan on the applied stack (cold)", PLAN_GOAL_S, [c["plan_s"] for c in cold],
               command=CMD, note="0 changes pending"),
        timing(AREA, "plan on the applied stack (warm)", PLAN_GOAL_S, [w["plan_s"] for w in warm],
               command=CMD),
        timing(AREA, "teardown (first in the process)", TEARDOWN_GOAL_S,
               [c["teardown_s"] for c in cold], command=CMD, note="includes the leftovers check"),
        timing(AREA, "teardown (warm)", TEARDOWN_GOAL_S, [w["teardown_s"] for w in warm],
               command=CMD, note="includes the leftovers check"),
    ]  # fmt: skip
    for name in cold[0]["modules"]:
        c = [r["modules"][name] for r in cold]
        w = [r["modules"][name] for r in warm]
        figs.append(
            timing(AREA, f"apply module `{name}` (cold)", None, c, command=CMD,
                   note=f"warm median {median(w):.2f} s")
        )  # fmt: skip
    return figs


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        print(json.dumps(worker()))
    else:
        for fig in run("--quick" in sys.argv):
            print(f"{fig.name}: {fig.value:.3f} {fig.unit} (goal {fig.goal})")
