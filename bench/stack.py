"""Benchmark the stack on moto: apply (cold, warm, no-op), the no-op's AWS calls, plan, teardown."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.figures import BenchError, Figure, median, timing

ROOT = Path(__file__).resolve().parents[1]
AREA = "stack"
CMD = "python -m bench.run --only stack"
APPLY_GOAL_S = 10.0
TEARDOWN_GOAL_S = 5.0
PLAN_GOAL_S = 2.0
CALLS_GOAL = 50  # AWS calls of a no-op apply of the whole stack (issue 11)
# What a no-op apply cost before the redesign of issue 11 (one context per resource module).
CALLS_BEFORE, CALLER_IDENTITY_BEFORE = 95, 11
OPTIONS = {"budget": {"email": "learner@example.com"}}

# The deploy package is imported inside worker() (and so in the helpers it calls), never at
# the top of this module: the worker times that import, and the parent process, which only
# spawns workers and makes figures, never needs it.


class CallCounter:
    """Count the AWS API calls a context's clients make (a botocore event hook)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # (operation, its parameters as JSON)
        self.by_module: Counter[str] = Counter()
        self.module = ""  # the stack resource being applied, set by the caller

    def hook(self, event_name: str, params: dict, **_: Any) -> None:
        """Record one call; botocore emits `provide-client-params.<service>.<Operation>`."""
        operation = event_name.removeprefix("provide-client-params.")
        self.calls.append((operation, json.dumps(params, sort_keys=True, default=str)))
        self.by_module[self.module] += 1

    def watch(self, ctx):
        """Return `ctx` with this counter hooked into its session; pass a context without clients.

        A client copies its session's hooks when it is made: one made earlier is not counted.
        """
        ctx.session.events.register("provide-client-params", self.hook)
        return ctx

    def summary(self) -> dict:
        """Return the totals: calls, identical repeats, GetCallerIdentity, calls per module."""
        return {
            "calls": len(self.calls),
            "repeats": len(self.calls) - len(set(self.calls)),
            "caller_identity": sum(op.endswith(".GetCallerIdentity") for op, _ in self.calls),
            "by_module": dict(self.by_module),
            "repeated": sorted({call[0] for call, n in Counter(self.calls).items() if n > 1}),
        }


@contextmanager
def timed_modules(per: dict[str, float], counter: CallCounter | None = None):
    """Time each resource module's ensure() inside a stack.apply (and label its calls)."""
    from deploy import stack

    real = dict(stack.MODULES)

    class Timed:
        def __init__(self, name: str, module: Any) -> None:
            self.name, self.module = name, module

        def __getattr__(self, attr: str) -> Any:
            return getattr(self.module, attr)

        def ensure(self, *args: Any, **kwargs: Any) -> Any:
            if counter is not None:
                counter.module = self.name
            start = time.perf_counter()
            try:
                return self.module.ensure(*args, **kwargs)
            finally:
                per[self.name] = time.perf_counter() - start

    stack.MODULES.update({name: Timed(name, module) for name, module in real.items()})
    try:  # this worker process only
        yield
    finally:
        stack.MODULES.update(real)


def timed_apply(ctx, names) -> tuple[float, dict[str, float]]:
    """Apply the whole stack; return (total seconds, seconds per module)."""
    from deploy import stack

    per: dict[str, float] = {}
    with timed_modules(per):
        start = time.perf_counter()
        stack.apply(ctx, names, options=OPTIONS)
        return time.perf_counter() - start, per


def noop_apply(ctx, names) -> dict:
    """Apply the applied stack again on a fresh context; return its time and AWS calls."""
    from deploy import stack

    counter = CallCounter()
    fresh = counter.watch(dataclasses.replace(ctx))  # no clients yet, account id not fetched
    with timed_modules({}, counter):
        start = time.perf_counter()
        result = stack.apply(fresh, names, options=OPTIONS)
        took = time.perf_counter() - start
    if not counter.calls:
        raise BenchError("the call counter saw no AWS call: its hook was not installed")
    if result.changed:
        changed = ", ".join(f"{c.kind} {c.name} ({c.action})" for c in result.changed)
        raise BenchError(f"the second apply was not a no-op: {changed}")
    return {"apply_s": took, **counter.summary()}


def worker() -> dict:
    """In a fresh process: start moto, apply/no-op apply/plan/teardown cold, then again warm."""
    t0 = time.perf_counter()
    from deploy import stack
    from deploy.aws.backend import start_backend
    from deploy.aws.names import DEFAULT_NAMES as names

    imported = time.perf_counter()
    backend = start_backend("moto", fresh=True)
    ctx = backend.ctx
    out: dict = {
        "import_s": imported - t0,
        "server_start_s": time.perf_counter() - imported,
    }
    try:
        for phase in ("cold", "warm"):  # warm: the same server again, after the teardown
            total, per = timed_apply(ctx, names)
            noop = noop_apply(ctx, names)
            start = time.perf_counter()
            planned = stack.plan(ctx, names, options=OPTIONS)
            plan_s = time.perf_counter() - start
            start = time.perf_counter()
            report = stack.teardown(ctx, names)
            out[phase] = {
                "apply_s": total,
                "modules": per,
                "noop": noop,
                "plan_s": plan_s,
                "plan_pending": len(planned.changed),
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


def call_figures(noops: list[dict]) -> list[Figure]:
    """Return the no-op apply's AWS-call figures: calls, identical repeats, GetCallerIdentity."""
    last = noops[-1]
    per_module = ", ".join(f"{m} {n}" for m, n in last["by_module"].items())
    before = "before the redesign (issue 11)"
    repeated = ", ".join(last["repeated"]) or "none"

    def fig(name: str, goal: int, key: str, note: str) -> Figure:
        samples = [float(n[key]) for n in noops]
        return Figure(AREA, name, goal, "calls", median(samples), samples, CMD, note)

    return [
        fig("AWS calls, no-op apply of the whole stack", CALLS_GOAL, "calls",
            f"counted by a botocore hook on a fresh context; per module: {per_module}; "
            f"{before}: {CALLS_BEFORE} calls, {CALLER_IDENTITY_BEFORE} GetCallerIdentity"),
        fig("identical AWS calls repeated, no-op apply", 0, "repeats",
            f"same operation, same parameters; repeated: {repeated}"),
        fig("GetCallerIdentity calls, no-op apply", 1, "caller_identity",
            f"the account id is fetched once per context; {before}: {CALLER_IDENTITY_BEFORE}"),
    ]  # fmt: skip


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
        timing(AREA, "apply on the applied stack (no-op)", None,
               [r["noop"]["apply_s"] for r in cold + warm], command=CMD,
               note="0 changes; a fresh context, so its clients and account id are made anew"),
        *call_figures([r["noop"] for r in cold + warm]),
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
            print(f"{fig.name}: {fig.value:.3f} {fig.unit} (goal {fig.goal}) {fig.note}")
