"""Replay ECS service auto-scaling minute by minute, from the rules in `deploy.models.scaling`.

A model, not the emulator: moto stores scaling policies but never scales, so this module
replays a per-minute load against target-tracking, step and scheduled policies as AWS
documents them (see `deploy.models.scaling` for each rule and its page, e.g.
https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html),
bills every task from launch to stop and prices the task-hours. Deterministic.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from deploy.models.common import ModelError, require_int, require_non_negative
from deploy.models.prices import fargate_hourly
from deploy.models.scaling import (
    METRICS,
    Activity,
    ScalingResult,
    ScheduledAction,
    StepScaling,
    TargetTracking,
    default_start_delay_s,
    default_stop_delay_s,
    target_tracking_desired,
)

__all__ = ["replay"]


@dataclass
class _Task:
    launch_s: float
    ready_s: float
    stop_s: float | None = None  # when billing ends
    removed_s: float | None = None  # when it stopped serving


def replay(
    load_curve: Sequence[float],
    policy: TargetTracking | StepScaling | Sequence[TargetTracking | StepScaling] = (),
    *,
    min_capacity: int = 1,
    max_capacity: int = 3,
    initial: int | None = None,
    scheduled: Sequence[ScheduledAction] = (),
    start_delay_s: float | None = None,
    stop_delay_s: float | None = None,
    vcpu: float = 1,
    memory_gb: float = 8,
    spot_fraction: float = 0.0,
    start_label: str | None = None,
) -> ScalingResult:
    """Replay a per-minute load (CPU demand in task-units, or requests/min) against policies."""
    policies = [policy] if isinstance(policy, TargetTracking | StepScaling) else list(policy)
    kinds = {p.metric for p in policies} or {"cpu"}
    if len(kinds) > 1:
        raise ModelError("all policies in one replay must read the same metric")
    kind = kinds.pop()
    if not load_curve:
        raise ModelError("load_curve needs at least one minute")
    for value in load_curve:
        require_non_negative("load", value)
    require_int("min_capacity", min_capacity)
    require_int("max_capacity", max_capacity)
    if min_capacity > max_capacity:
        raise ModelError(f"min_capacity {min_capacity} is greater than max_capacity {max_capacity}")
    desired = min_capacity if initial is None else require_int("initial", initial)
    if not min_capacity <= desired <= max_capacity:
        raise ModelError(f"initial {desired} is outside [{min_capacity}, {max_capacity}]")
    start_delay = default_start_delay_s() if start_delay_s is None else start_delay_s
    stop_delay = default_stop_delay_s() if stop_delay_s is None else stop_delay_s
    require_non_negative("start_delay_s", start_delay)
    require_non_negative("stop_delay_s", stop_delay)
    for action in scheduled:
        require_int("scheduled minute", action.minute)

    tasks = [_Task(0.0, 0.0) for _ in range(desired)]
    lo, hi = min_capacity, max_capacity
    history: list[float | None] = []
    out_desired, out_running, activities = [], [], []
    state = {id(p): {"last_in": -math.inf, "last": -math.inf, "base": desired} for p in policies}
    overloaded = 0

    def set_desired(t: float, new: int, cause: str) -> None:
        nonlocal desired
        new = max(lo, min(hi, new))
        if new == desired:
            return
        activities.append(Activity(t, cause, desired, new))
        desired = new
        alive = [k for k in tasks if k.removed_s is None]
        for _ in range(desired - len(alive)):
            tasks.append(_Task(t, t + start_delay))
        # scale-in: stop tasks that are not serving yet first, then the newest
        for victim in sorted(alive, key=lambda k: -k.ready_s)[: max(0, len(alive) - desired)]:
            victim.removed_s = t
            victim.stop_s = t if victim.ready_s > t else t + stop_delay

    for minute, load in enumerate(load_curve):
        t = minute * 60.0
        for action in (a for a in scheduled if a.minute == minute):
            lo = action.min_capacity if action.min_capacity is not None else lo
            hi = action.max_capacity if action.max_capacity is not None else hi
            if lo > hi:
                raise ModelError(f"scheduled action {action.name!r} makes min {lo} > max {hi}")
            set_desired(t, max(lo, min(hi, desired)), f"scheduled action {action.name}")
        running = sum(1 for k in tasks if k.ready_s <= t and k.removed_s is None)
        if running == 0:
            metric = None  # no task, no ECS metric: the alarms see missing data
        elif kind == "cpu":
            metric = min(100.0, 100.0 * load / running)
            overloaded += load > running
        else:
            metric = load / running
        history.append(metric)
        out_desired.append(desired)
        out_running.append(running)
        end = t + 60
        for p in policies:
            if isinstance(p, TargetTracking):
                _target_tracking(p, state[id(p)], history, running, desired, end, set_desired)
            else:
                _step(p, state[id(p)], history, desired, end, set_desired)

    horizon = len(load_curve) * 60.0
    billed = (
        sum(min(k.stop_s if k.stop_s is not None else horizon, horizon) - k.launch_s for k in tasks)
        / 3600
    )
    serving = sum(out_running) / 60
    hourly = fargate_hourly(vcpu, memory_gb)
    spot = fargate_hourly(vcpu, memory_gb, spot=True)
    usd = billed * ((1 - spot_fraction) * hourly + spot_fraction * spot)
    targets = {}
    for p in policies:
        if isinstance(p, TargetTracking):
            targets["target"] = p.target
            targets["low alarm"] = p.target * p.low_ratio
        else:
            targets[f"step alarm {p.comparison} {p.threshold:g}"] = p.threshold
    return ScalingResult(
        list(load_curve),
        kind,
        out_desired,
        out_running,
        history,
        activities,
        billed,
        serving,
        usd,
        overloaded,
        targets,
        start_label,
    )


def _last(history: list[float | None], n: int) -> list[float | None] | None:
    window = history[-n:]
    if len(window) < n or any(v is None for v in window):
        return None  # not enough data: the alarm stays OK / INSUFFICIENT_DATA
    return window


def _target_tracking(p, st, history, running, desired, end, set_desired) -> None:
    metric = history[-1]
    high = _last(history, p.high_datapoints)
    if high and all(v > p.target for v in high):
        want = target_tracking_desired(running, metric, p.target)
        if want > desired:  # during the scale-out cooldown the capacity just added counts
            set_desired(
                end,
                want,
                f"{METRICS[p.metric]} high alarm ({p.high_datapoints} of "
                f"{p.high_datapoints} > {p.target:g})",
            )
        return
    low = _last(history, p.low_datapoints)
    if p.disable_scale_in or not low or not all(v < p.target * p.low_ratio for v in low):
        return
    if end - st["last_in"] < p.scale_in_cooldown_s:
        return
    want = target_tracking_desired(running, metric, p.target)
    if want < desired:
        set_desired(
            end,
            want,
            f"{METRICS[p.metric]} low alarm ({p.low_datapoints} of "
            f"{p.low_datapoints} < {p.target * p.low_ratio:g})",
        )
        st["last_in"] = end


def _step(p, st, history, desired, end, set_desired) -> None:
    window = _last(history, p.datapoints)
    if not window or not all(p.breaches(v) for v in window):
        return
    step = p.step_for(history[-1])
    if step is None:
        return
    in_cooldown = end - st["last"] < p.cooldown_s
    base = st["base"] if in_cooldown else desired  # in cooldown, relative to the first activity
    want = p.count(history[-1], base)
    if want == desired or (in_cooldown and want < desired):
        return  # scale-in waits for the cooldown; a scale-out must ask for more than exists
    if not in_cooldown:
        st["last"], st["base"] = end, desired
    set_desired(end, want, f"step alarm {p.comparison} {p.threshold:g} ({step.adjustment:+g})")
