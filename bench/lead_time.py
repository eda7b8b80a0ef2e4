"""Break the guide's "12 minutes from commit to production" into measured and AWS-only parts."""

from __future__ import annotations

import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

import botocore.session

from bench.figures import Figure
from bench.image import build, change_one_line, copy_context, sizes, start_to_healthy
from deploy import pipeline, release
from deploy.aws.backend import start_backend
from deploy.aws.names import DEFAULT_NAMES
from deploy.models import rollout_sim
from deploy.models.rollout import RolloutConfig
from deploy.podman import base_image, podman

AREA = "commit to production"
CMD = "python -m bench.run --only lead_time"
TAG = "localhost/llmops:bench-lead"
REPEATS = 5
# The rehearsal's step names (deploy/pipeline.py) that make up each part.
PUSH = ("Push", "Record")
REGISTER = ("Fill", "Render", "Register")
# The guide's own timeline (aws-ecs-interview-guide.md, "Complete Pipeline Timeline"): the
# anchors each part is compared with, in seconds. Its total is 12 min = 3 min of tests + 9 min.
GUIDE_S = {
    "tests": 3 * 60,
    "build": 115,
    "push": 30,
    "register": 15,  # render + register + update, 5 s each
    "wait": 5 * 60,
    "total": 12 * 60,
}


def _figure(
    name: str,
    seconds: float | list[float] | None,
    note: str,
    guide: float | None = None,
) -> Figure:
    """Return one row: our seconds (median of samples), the guide's for the same part if any."""
    samples = seconds if isinstance(seconds, list) else []
    value = statistics.median(samples) if samples else seconds
    return Figure(AREA, name, None, "s", value, samples, CMD, note, versus=guide)


def _rehearse(quick: bool) -> dict:
    """Build after a one-line change and run aws.yml's steps on moto, repeatedly; time it all."""
    base = base_image()
    runs = 1 if quick else 1 + REPEATS  # full: a warm-up run, then the measured ones
    out: dict = {"build_s": [], "push_s": [], "register_s": []}
    with (
        tempfile.TemporaryDirectory(prefix="bench-lead-") as tmp,
        start_backend("moto", fresh=True) as backend,
    ):
        context = copy_context(Path(tmp))
        if not quick:  # quick: one build, on whatever cache earlier builds left
            build(context, base, tag=TAG)  # the runner's layer cache, as the guide assumes
        for i in range(runs):
            change_one_line(context)
            built = build(context, base, tag=TAG)
            sha = f"bench{time.time_ns()}"
            try:
                steps = pipeline.rehearse(
                    backend.ctx, DEFAULT_NAMES, image=TAG, sha=sha, apply=i == 0
                )
            finally:  # the rehearsal tags the build by commit, as a runner would: drop that tag
                podman("rmi", f"localhost/{DEFAULT_NAMES.repository}:{sha}", check=False)
            # the first run applies the stack the workflow deploys into; later ones reuse it
            if runs > 1 and i == 0:
                continue
            out["build_s"].append(built)
            out["push_s"].append(sum(s.seconds for s in steps if s.name.startswith(PUSH)))
            out["register_s"].append(sum(s.seconds for s in steps if s.name.startswith(REGISTER)))
        out["config"] = release.rollout_config(backend.ctx, DEFAULT_NAMES)
    out["image_bytes"] = sizes(TAG, base)["image_bytes"]
    starts = [start_to_healthy(TAG) for _ in range(1 if quick else REPEATS)]
    out["healthy_s"] = statistics.median(r["healthcheck_pass_s"] for r in starts)
    out["stop_s"] = statistics.median(r["stop_s"] for r in starts)
    podman("rmi", "-f", TAG, check=False)
    return out


def _phases(result) -> dict[str, float]:
    """Return the modelled rollout's phases (seconds) from its event list."""

    def at(event: str, actor_prefix: str = "") -> float:
        for e in result.events:
            if e.event.startswith(event) and e.actor.startswith(actor_prefix):
                return e.time_s
        raise RuntimeError(f"the rollout model has no {event!r} event")

    pulling, running = at("PENDING", "new"), at("RUNNING", "new")
    healthy = at("target healthy", "alb")
    deregistered = at("target deregistered", "alb")
    return {
        "placement": pulling,
        "pull": running - pulling,
        "start → healthy in the target group": healthy - running,
        "draining the old task": deregistered - healthy,
        "stopping the old task": at("STOPPED", "old") - deregistered,
        "total": result.time_to_complete_s,
    }


def _waiter_delay() -> tuple[int, int]:
    """Return the ECS services-stable waiter's poll delay and attempts (botocore's model)."""
    waiter = botocore.session.get_session().get_waiter_model("ecs").get_waiter("ServicesStable")
    return waiter.delay, waiter.max_attempts


def run(quick: bool) -> list[Figure]:
    """Return the breakdown: rehearsal steps measured here, AWS-only waits from the model."""
    data = _rehearse(quick)
    image_gb = data["image_bytes"] / 1e9
    ours = dataclasses.replace(
        data["config"], image_size_gb=image_gb, app_start_s=data["healthy_s"],
        shutdown_s=data["stop_s"],
    )  # fmt: skip
    guide = RolloutConfig.guide()
    ours_model = rollout_sim.simulate_rollout(ours)
    guide_model = rollout_sim.simulate_rollout(guide)
    delay, attempts = _waiter_delay()
    push, register = data["push_s"], data["register_s"]
    measured = [sum(parts) for parts in zip(data["build_s"], push, register, strict=True)]
    g = GUIDE_S
    cache = (
        "podman; quick: no priming build, the layer cache is what earlier builds left"
        if quick
        else "podman, layer cache warm, as the guide assumes"
    )
    figures = [
        _figure("build after a one-line code change (measured)", data["build_s"], cache,
                g["build"]),
        _figure("push + record in ECR (measured, local registry)", push,
                "loopback registry: real ECR adds upload time ∝ changed layers", g["push"]),
        _figure("fill, render, register, update-service (measured, moto)", register,
                "API calls against moto", g["register"]),
        _figure("everything this machine can run, summed", measured,
                "build + push + register", g["build"] + g["push"] + g["register"]),
    ]  # fmt: skip
    phases = _phases(ours_model)
    rules = {
        "placement": f"model: an assumption ({ours.provision_s:g} s: capacity and the task's ENI)",
        "pull": f"model: {image_gb:.2f} GB image measured here ÷ assumed "
        f"{ours.pull_mb_per_s:g} MB/s (Fargate caches no layers)",
        "start → healthy in the target group": (
            f"model: app start (measured here: {data['healthy_s']:.1f} s) and the first passing "
            f"check, every {ours.tg_interval_s:g} s (a newly registered target needs one)"
        ),
        "draining the old task": (
            f"model: deregistration delay {ours.deregistration_delay_s:g} s, set by "
            f"deploy/resources/alb.py (guide: AWS default {guide.deregistration_delay_s:g} s)"
        ),
        "stopping the old task": f"model: SIGTERM → exit, measured {data['stop_s']:.2f} s",
        "total": (
            f"model (deploy/models/rollout_sim.py) of the applied stack; the guide's settings "
            f"in the same model: {guide_model.time_to_complete_s:.0f} s"
        ),
    }
    for phase, seconds in phases.items():
        anchor = g["wait"] if phase == "total" else None
        figures.append(_figure(f"AWS only: {phase}", seconds, rules[phase], anchor))
    figures.append(
        _figure("AWS only: waiter poll granularity (up to)", float(delay),
                f"botocore ServicesStable waiter: every {delay} s, {attempts} attempts "
                f"({delay * attempts / 60:.0f} min)"),
    )  # fmt: skip
    estimate = statistics.median(measured) + phases["total"] + delay
    figures.append(
        _figure("AWS workflow, commit image → stable (estimate)", estimate,
                "measured parts + modelled waits + one waiter poll", g["total"] - g["tests"]),
    )  # fmt: skip
    figures.append(
        _figure("CI tests before the deploy (not measured here)", None,
                "runs on GitHub's runner. `make test` here runs far more (container, notebooks, "
                "browser)", g["tests"]),
    )  # fmt: skip
    return figures


if __name__ == "__main__":
    for fig in run(quick=True):
        print(json.dumps({"name": fig.name, "value": fig.value, "note": fig.note}))
