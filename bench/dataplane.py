"""Benchmark the local data plane: a rolling deploy, a failing one, and the rollout model against both.

Both modes: process mode (the workbook's service image run as local processes; no engine
needed) and podman mode (the image built from this tree, run as containers; two revisions are
that image relabelled, `deploy.podman.relabel`). AWS's minimum health settings (interval 5 s,
timeout 4 s, thresholds 2, deregistration delay 5 s, stopTimeout 5 s) and a 10 s grace period
(the app takes 2-3 s to answer on a busy 2-core machine). The full run is on the REAL clock,
in both modes (podman with fewer repetitions: each failing deploy takes about a minute); the
quick run in process mode only, on a compressed clock (1 AWS second = 0.1 s, grace 60 AWS s to
cover the same real start and two passing checks), labelled so. Each run is a fresh process
(`--worker`), so its moto state and its tasks end with it.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import BenchError, Figure, timing

ROOT = Path(__file__).resolve().parents[1]
AREA = "data plane"
CMD = "python -m bench.run --only dataplane"
DEPLOY_GOAL_S = 20.0
ROLLBACK_GOAL_S = 90.0
FAILED_GOAL = 0
ORDER_GOAL = 1  # 1 = the same order
DIFF_GOAL_PCT = 10.0
PROCESS, PODMAN = "process", "podman"
# (clock scale, grace period in AWS seconds, healthy deploys, failing deploys), by mode.
FULL = {PROCESS: (1.0, 10, 3, 2), PODMAN: (1.0, 10, 2, 1)}
QUICK = (0.1, 60, 1, 1)  # as tests/emulator: grace covers a 2-4 s start plus 2 passes
QUICK_MODES = (PROCESS,)  # a container start costs seconds: make test's quick run skips podman
IMAGE = "localhost/llmops:dataplane"  # podman mode: this tree's image (relabelled rev1, rev2)


def _aws_s(scale: float, real_s: float) -> float:
    return real_s / scale


def _deploy(lab, new: str) -> dict:
    """Roll to `new` with a client hammering the ALB; return what was measured (real seconds)."""
    from bench._plane_lab import Hammer
    from deploy.models import rollout_check as rc

    lab.first_answer.clear()  # ports come back: only this deploy's tasks count
    lab.first_healthy.clear()
    with Hammer(lab) as hammer:
        start = time.monotonic()
        t0 = lab.update(taskDefinition=lab.revisions[new])
        lab.stable(new)
        while (served := hammer.first_served(new, start)) is None:
            if time.monotonic() - start > 120:
                raise BenchError(f"the ALB never served {new}")
            time.sleep(0.05)
    events = rc.real_events(lab.events(), t0)
    arn = lab.runner.task_arns(running_only=True)[0]
    port = lab.runner.host_port(arn)
    registered = next(s for s, m in events if rc.REGISTERED in m)
    started = next(s for s, m in events if rc.STARTED in m)
    draining = next(s for s, m in events if rc.DRAINING in m)
    stopped = [(b - t0).total_seconds() for _a, b in lab.stopped_at(t0) if b is not None]
    return {
        "serve_s": served - start,
        "failed": hammer.failed(),
        "requests": len(hammer.answers),
        "events": events,
        "provision_s": registered - started,
        "app_ready_s": lab.first_answer[port] - start - registered,
        "healthy_s": lab.first_healthy[port] - start - registered,
        "drain_done_s": max(stopped) - draining if stopped else None,
    }


def _fail(lab, good: str) -> dict:
    """Deploy the 404 revision; return the time until rolled back and `good` serves again."""
    from deploy.models import rollout_check as rc

    start = time.monotonic()
    t0 = lab.update(taskDefinition=lab.revisions["bad"])
    lab.wait(
        lambda s: any(d["rolloutState"] == "FAILED" for d in s["deployments"]),
        "the circuit breaker",
        240,
    )
    lab.stable(good)
    while lab.get()[1] != good:
        if time.monotonic() - start > 240:
            raise BenchError(f"the ALB never served {good} again")
        time.sleep(0.05)
    took = time.monotonic() - start
    events = rc.real_events(lab.events(), t0)
    started = [s for s, m in events if rc.STARTED in m]
    registered = [s for s, m in events if rc.REGISTERED in m]
    # The steady state waits for the last drain: the previous deployment's task, stopped once
    # the rollback's task is healthy. A failed task's stop can take longer: in podman mode the
    # 404 server is PID 1, which ignores SIGTERM, so it runs until stopTimeout (as on Fargate).
    last, done = max((a, b) for a, b in lab.stopped_at(t0) if b is not None)
    return {
        "rolled_back_s": took,
        "events": events,
        "provision_s": statistics.median(
            r - s for s, r in zip(started[:3], registered[:3], strict=False)
        ),
        "drain_done_s": (done - last).total_seconds(),
    }


def _podman_image() -> None:
    """Build this tree's service image (cached layers: seconds) and relabel it rev1 and rev2."""
    from bench._plane_lab import podman_revisions
    from bench.image import copy_context
    from deploy.podman import base_image, build

    with tempfile.TemporaryDirectory(prefix="bench-dataplane-") as tmp:
        # A copy: other people may be editing the working tree meanwhile.
        build(IMAGE, base=base_image(), sha="dataplane", context=copy_context(Path(tmp)))
    podman_revisions(IMAGE)


def worker(quick: bool, mode: str = PROCESS) -> dict:
    """In a fresh process: moto, the data plane, one service; deploy, fail, measure."""
    from bench import _plane_lab
    from deploy.aws.backend import start_backend
    from emulator.clock import Clock

    scale, grace, healthy_runs, failing_runs = QUICK if quick else FULL[mode]
    clock = Clock(scale)
    phases: dict[str, float] = {}  # real seconds per step, for the report
    mark = time.monotonic()

    def step(name: str) -> None:
        nonlocal mark
        phases[name] = round(time.monotonic() - mark, 2)
        mark = time.monotonic()

    if mode == PODMAN:
        _podman_image()
        step("image build (cached layers) and relabel")
    backend = start_backend("moto", fresh=True)
    step("moto")
    out: dict = {"scale": scale, "grace_s": grace, "clock": clock.label, "mode": mode}
    out["phases"] = phases
    lab = None
    try:
        lab = _plane_lab.start(backend.ctx, clock=clock, grace_s=grace, mode=mode)
        lab.watch()
        lab.stable("rev1")
        step("set-up, first revision stable")
        revisions = ["rev2", "rev1"] * healthy_runs
        out["healthy"] = [_deploy(lab, rev) for rev in revisions[:healthy_runs]]
        step("healthy deploys")
        good = revisions[healthy_runs - 1]
        out["failing"] = [_fail(lab, good) for _ in range(failing_runs)]
        step("failing deploys")
    finally:
        if lab is not None:
            lab.stop()
        backend.stop()
        step("teardown")
    return out


def model_config(run: dict, measured: dict):
    """Return the rollout model's config with the data plane's settings and measured timings."""
    from bench import _plane_lab as lab
    from deploy.models.rollout import RolloutConfig

    scale = run["scale"]
    # drain_done: from the drain's start to STOPPED, so the deregistration delay plus shutdown.
    shutdown = _aws_s(scale, measured["drain_done_s"] or 0.0) - lab.DRAIN
    return RolloutConfig(
        desired_count=1,
        minimum_healthy_percent=100,
        maximum_percent=200,
        health_check_grace_period_s=run["grace_s"],
        circuit_breaker=True,
        rollback=True,
        stop_timeout_s=lab.STOP_TIMEOUT,
        container_health_check=None,
        tg_interval_s=lab.INTERVAL,
        tg_timeout_s=lab.TIMEOUT,
        healthy_threshold=lab.THRESHOLD,
        unhealthy_threshold=lab.THRESHOLD,
        deregistration_delay_s=lab.DRAIN,
        provision_s=_aws_s(scale, measured["provision_s"]),
        image_size_gb=0,
        app_start_s=_aws_s(scale, measured.get("app_ready_s", 0.0)),
        shutdown_s=max(shutdown, 0.0),
    )


def check(run: dict, measured: dict, kind: str):
    """Run the model with the measured timings; compare it with the run's service events."""
    from deploy.models import rollout_check as rc
    from deploy.models.common import ModelError
    from deploy.models.rollout import Failures
    from deploy.models.rollout_sim import simulate_rollout

    failing = kind == "failing"
    config = model_config(run, measured)
    result = simulate_rollout(config, Failures(fails_alb_health_check=failing))
    scale = run["scale"]
    events = [(_aws_s(scale, s), m) for s, m in measured["events"]]
    real = rc.real_milestones(events, kind)
    try:
        model = rc.model_milestones(result, kind)
    except ModelError as exc:  # the model tells another story (e.g. a good task failing)
        return rc.Comparison(kind, real, [], False, 1.0, f"the model differs: {exc}")
    # The first real second (the scheduler's polls) is compared for order only, in AWS seconds.
    return rc.compare(real, model, kind, floor_s=_aws_s(scale, rc.FLOOR_S))


def _spawn(quick: bool, mode: str) -> dict:
    cmd = [sys.executable, "-m", "bench.dataplane", "--worker", "--mode", mode]
    proc = subprocess.run(
        cmd + (["--quick"] if quick else []), cwd=ROOT, capture_output=True, text=True, timeout=1800
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise BenchError(
            f"data-plane worker ({mode} mode) failed ({proc.returncode}): {proc.stderr[-1500:]}"
        )
    return json.loads(lines[-1])


def run(quick: bool) -> list[Figure]:
    """Return the data plane's figures, each mode in a fresh process (quick: process mode only)."""
    figs: list[Figure] = []
    for mode in QUICK_MODES if quick else (PROCESS, PODMAN):
        try:
            figs += figures(_spawn(quick, mode))
        except BenchError as exc:  # one mode's failure must not hide the other's figures
            msg = " ".join(str(exc).split())[:400]
            figs.append(
                Figure(AREA, f"{mode} mode run failed", None, "", None, command=CMD, note=msg)
            )
    return figs


def figures(result: dict) -> list[Figure]:
    """Return one mode's figures (process mode's names carry no mode; others end with it)."""
    from deploy.models.rollout_check import describe

    label = f"{result['mode']} mode, {result['clock']}"
    suffix = "" if result["mode"] == PROCESS else f" ({result['mode']} mode)"
    healthy, failing = result["healthy"], result["failing"]
    figs = [
        timing(AREA, f"deploy of a new revision until the ALB serves it{suffix}", DEPLOY_GOAL_S,
               [h["serve_s"] for h in healthy], command=CMD,
               note=f"{label}; update-service to the first 2xx answer from the new revision "
                    f"through the ALB; AWS-minimum checks, grace {result['grace_s']} AWS s"),
        timing(AREA, f"failing deploy until rolled back and the old revision serves{suffix}",
               ROLLBACK_GOAL_S, [f["rolled_back_s"] for f in failing], command=CMD,
               note=f"{label}; health path 404: 3 failed tasks, circuit breaker, rollback, "
                    "steady state, then the old revision answers through the ALB"),
        Figure(AREA, f"failed requests through the ALB during a rolling update{suffix}",
               FAILED_GOAL, "requests", float(max(h["failed"] for h in healthy)),
               [float(h["failed"]) for h in healthy], CMD,
               f"{label}; non-2xx or no answer, out of "
               f"{sum(h['requests'] for h in healthy)} requests by a client hammering /health"),
    ]  # fmt: skip
    for kind, runs in (("healthy", healthy), ("failing", failing)):
        comparisons = [check(result, m, kind) for m in runs]
        worst = max(comparisons, key=lambda c: c.max_relative_diff)
        same = [float(c.same_order) for c in comparisons]
        pct = [100 * c.max_relative_diff for c in comparisons]
        why = (
            "the data plane's scheduler looks every 0.1 s, so its events trail the model's by "
            "a poll or two; on a compressed clock the app's real start spans intervals"
        )
        if kind == "failing":
            before = max(
                (
                    r["relative_diff"] or 0.0
                    for r in worst.rows()
                    if r["milestone"] != "steady state"
                ),
                default=0.0,
            )
            why = (
                f"up to the rollback's start within {100 * before:.1f} %; on rollback both start "
                "a fresh task of the old revision (a new deployment) and drain the previous one "
                "once it is healthy"
            )
        why += "; see localstack/README.md"
        figs += [
            Figure(AREA, f"rollout model vs data plane, {kind} deploy: same event order{suffix}",
                   ORDER_GOAL, "yes=1", min(same), same, CMD,
                   f"{label}; model fed the measured start, first-answer and drain times; "
                   f"{describe(worst)}", higher_is_better=True),
            Figure(AREA, f"rollout model vs data plane, {kind} deploy: max time difference{suffix}",
                   DIFF_GOAL_PCT, "%", max(pct), pct, CMD,
                   f"{label}; worst milestone: {worst.worst or 'none'}; {why}"),
        ]  # fmt: skip
    return figs


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        mode = sys.argv[sys.argv.index("--mode") + 1] if "--mode" in sys.argv else PROCESS
        print(json.dumps(worker("--quick" in sys.argv, mode), default=str))
    else:
        for fig in run("--quick" in sys.argv):
            print(f"{fig.name}: {fig.value} {fig.unit} (goal {fig.goal}) {fig.note}")
