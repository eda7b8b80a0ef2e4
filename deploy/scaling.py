"""Replay ECS service auto-scaling minute by minute: a model, not the emulator.

A model, not the emulator: computes what AWS would do from documented rules. moto stores
scalable targets, policies, their alarms and scheduled actions but never scales
(reference/emulators.md), so this module replays a per-minute load against a policy:
- Target tracking creates two CloudWatch alarms on 1-minute datapoints: the high alarm needs
  3 of 3 above the target (~3 min to the first scale-out, plus task start time); the low alarm
  needs 15 of 15 below ~90 % of the target (~15 min before a scale-in can fire).
  Scale-in fires when the LOW alarm enters ALARM, not when the high one "resolves".
  https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
  https://github.com/aws/containers-roadmap/issues/1208 (the 3/3 and 15/15 datapoints)
- Cooldowns are waits after a scaling activity (ECS default 300 s each). During a scale-out
  cooldown the capacity just added counts, so a further scale-out happens only if it asks for
  more than is already desired; scale-in waits for the scale-in cooldown.
  https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingScalingPolicyConfiguration.html
- new desired = ceil(current x metric / target) is an APPROXIMATION: AWS does not document
  its target-tracking algorithm (90 / 70 x 1 = 1.29 -> 2 tasks).
- ALBRequestCountPerTarget is requests per target per minute.
- Step scaling: a CloudWatch alarm plus step adjustments relative to the alarm threshold.
  https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html
- Scheduled actions set min/max capacity at a time; desired is clamped into the new range.
  https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-scheduled-scaling.html
New tasks serve only after a start delay (placement, a full image pull: Fargate caches no
layers, app start, first health check) and are billed from launch; removed tasks are billed
until they stop (deregistration delay + shutdown). Deterministic: no randomness.
"""

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from deploy import cost
from deploy.models_common import ModelError, require_int, require_non_negative, require_positive
from deploy.rollout import RolloutConfig

__all__ = [
    "Activity",
    "ModelError",
    "MondayMorning",
    "ScalingResult",
    "ScheduledAction",
    "StepAdjustment",
    "StepScaling",
    "TargetTracking",
    "default_start_delay_s",
    "default_stop_delay_s",
    "monday_morning",
    "replay",
    "target_tracking_desired",
    "task_hours",
    "time_to_first_scale_out",
    "time_to_scale_in",
]

METRICS = {"cpu": "ECSServiceAverageCPUUtilization", "requests": "ALBRequestCountPerTarget"}


def target_tracking_desired(current_tasks: int, metric: float, target: float) -> int:
    """Return ceil(current x metric / target): an approximation of AWS's undocumented rule."""
    require_int("current_tasks", current_tasks)
    require_non_negative("metric", metric)
    require_positive("target", target)
    return math.ceil(round(current_tasks * metric / target, 9))


def time_to_first_scale_out(period_s: int = 60, datapoints: int = 3) -> int:
    """Return seconds of breaching datapoints before the high alarm fires (before task start)."""
    require_int("period_s", period_s, minimum=10)
    require_int("datapoints", datapoints, minimum=1)
    return period_s * datapoints


def time_to_scale_in(period_s: int = 60, datapoints: int = 15) -> int:
    """Return seconds of low datapoints before the low alarm can fire a scale-in."""
    return time_to_first_scale_out(period_s, datapoints)


def task_hours(tasks_per_step: Sequence[float], step_minutes: float = 1.0) -> float:
    """Return task-hours from a task count per step (default one step per minute)."""
    require_positive("step_minutes", step_minutes)
    for n in tasks_per_step:
        require_non_negative("task count", n)
    return sum(tasks_per_step) * step_minutes / 60


def default_start_delay_s(config: RolloutConfig | None = None) -> float:
    """Return launch-to-serving seconds from the rollout model's task timings."""
    c = config or RolloutConfig()
    # placement + image pull + app start, and the first passing ALB check after registration
    return c.provision_s + c.pull_s + max(c.app_start_s, c.tg_interval_s)


def default_stop_delay_s(config: RolloutConfig | None = None) -> float:
    """Return seconds a removed task stays billed: deregistration delay + shutdown."""
    c = config or RolloutConfig()
    return c.deregistration_delay_s + min(c.shutdown_s, c.stop_timeout_s)


@dataclass(frozen=True)
class TargetTracking:
    """A target-tracking policy on average CPU (%) or ALB requests per target per minute."""

    target: float = 70.0
    metric: str = "cpu"
    scale_out_cooldown_s: float = 300
    scale_in_cooldown_s: float = 300
    disable_scale_in: bool = False
    high_datapoints: int = 3
    low_datapoints: int = 15
    low_ratio: float = 0.9  # the low alarm sits ~10 % under the target

    def __post_init__(self) -> None:
        require_positive("target", self.target)
        _check_metric(self.metric)
        require_non_negative("scale_out_cooldown_s", self.scale_out_cooldown_s)
        require_non_negative("scale_in_cooldown_s", self.scale_in_cooldown_s)
        if self.metric == "cpu" and self.target > 100:
            raise ModelError(f"a CPU target must be at most 100 %, got {self.target}")


@dataclass(frozen=True)
class StepAdjustment:
    """One step: applies when lower <= metric - threshold < upper (None = unbounded)."""

    lower: float | None
    upper: float | None
    adjustment: float


@dataclass(frozen=True)
class StepScaling:
    """A step-scaling policy driven by its own CloudWatch alarm."""

    threshold: float
    steps: tuple[StepAdjustment, ...]
    comparison: str = ">="  # >=, >, <=, <
    adjustment_type: str = "ChangeInCapacity"  # | ExactCapacity | PercentChangeInCapacity
    metric: str = "cpu"
    datapoints: int = 1  # M of M one-minute datapoints
    cooldown_s: float = 300

    def __post_init__(self) -> None:
        _check_metric(self.metric)
        if self.comparison not in (">=", ">", "<=", "<"):
            raise ModelError(f"comparison must be >=, >, <= or <, got {self.comparison!r}")
        kinds = ("ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity")
        if self.adjustment_type not in kinds:
            raise ModelError(
                f"adjustment_type must be one of {kinds}, got {self.adjustment_type!r}"
            )
        if not self.steps:
            raise ModelError("a step-scaling policy needs at least one step adjustment")
        require_int("datapoints", self.datapoints, minimum=1)


@dataclass(frozen=True)
class ScheduledAction:
    """Set min and/or max capacity at a minute of the replay."""

    minute: int
    min_capacity: int | None = None
    max_capacity: int | None = None
    name: str = "scheduled"


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ModelError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")


@dataclass(frozen=True)
class Activity:
    """One scaling activity, as describe-scaling-activities would list it."""

    time_s: float
    cause: str
    from_count: int
    to_count: int


@dataclass
class _Task:
    launch_s: float
    ready_s: float
    stop_s: float | None = None  # when billing ends
    removed_s: float | None = None  # when it stopped serving


@dataclass
class ScalingResult:
    """Per-minute desired/running counts, the metric, activities, task-hours and cost."""

    load: list[float]
    metric_name: str
    desired: list[int]
    running: list[int]
    metric: list[float | None]
    activities: list[Activity]
    task_hours: float
    serving_task_hours: float
    cost_usd: float
    overloaded_minutes: int
    targets: dict[str, float] = field(default_factory=dict)
    start_label: str | None = None

    def label(self, minute: int) -> str:
        """Return a clock label for a minute (HH:MM from start_label, else +minutes)."""
        if self.start_label is None:
            return f"+{minute} min"
        hours, minutes = map(int, self.start_label.split(":"))
        total = hours * 60 + minutes + minute
        return f"{total // 60 % 24:d}:{total % 60:02d}"

    def table(self) -> list[dict[str, object]]:
        """Return one row per minute: time, load, metric, desired, running."""
        return [
            {
                "minute": i,
                "time": self.label(i),
                "load": round(self.load[i], 3),
                "metric": None if self.metric[i] is None else round(self.metric[i], 1),
                "desired": self.desired[i],
                "running": self.running[i],
            }
            for i in range(len(self.load))
        ]

    def activity_table(self) -> list[dict[str, object]]:
        """Return the scaling activities as rows."""
        return [
            {
                "time": self.label(int(a.time_s // 60)),
                "time_s": a.time_s,
                "cause": a.cause,
                "from": a.from_count,
                "to": a.to_count,
            }
            for a in self.activities
        ]

    def plot(self):
        """Return a matplotlib Figure: the metric vs target above, task counts below."""
        import matplotlib.pyplot as plt

        fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
        minutes = range(len(self.load))
        top.plot(
            minutes,
            [m if m is not None else float("nan") for m in self.metric],
            label=METRICS[self.metric_name],
        )
        for (name, value), style in zip(self.targets.items(), ["--", ":", "-."] * 4, strict=False):
            top.axhline(value, linestyle=style, linewidth=1, label=name, color="grey")
        top.set_ylabel(self.metric_name)
        top.legend(fontsize="small")
        top.set_title("Modelled auto-scaling (model, not the emulator)")
        bottom.step(minutes, self.desired, where="post", label="desired")
        bottom.step(minutes, self.running, where="post", label="running (serving)")
        if self.metric_name == "cpu":
            bottom.plot(minutes, self.load, linestyle=":", label="CPU demand (task-units)")
        for a in self.activities:
            bottom.axvline(a.time_s / 60, color="red", alpha=0.3, linewidth=1)
        bottom.set_ylabel("tasks")
        bottom.set_xlabel(
            "minute" if self.start_label is None else f"minutes after {self.start_label}"
        )
        bottom.legend(fontsize="small")
        fig.tight_layout()
        return fig


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
    hourly = cost.fargate_hourly(vcpu, memory_gb)
    spot = cost.fargate_hourly(vcpu, memory_gb, spot=True)
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


def _breaches(p: StepScaling, value: float) -> bool:
    return {
        ">=": value >= p.threshold,
        ">": value > p.threshold,
        "<=": value <= p.threshold,
        "<": value < p.threshold,
    }[p.comparison]


def _step(p, st, history, desired, end, set_desired) -> None:
    window = _last(history, p.datapoints)
    if not window or not all(_breaches(p, v) for v in window):
        return
    delta = history[-1] - p.threshold
    step = next(
        (
            s
            for s in p.steps
            if (s.lower is None or delta >= s.lower) and (s.upper is None or delta < s.upper)
        ),
        None,
    )
    if step is None:
        return
    in_cooldown = end - st["last"] < p.cooldown_s
    base = st["base"] if in_cooldown else desired  # in cooldown, relative to the first activity
    if p.adjustment_type == "ExactCapacity":
        want = int(step.adjustment)
    elif p.adjustment_type == "PercentChangeInCapacity":
        change = base * step.adjustment / 100
        want = base + (math.ceil(change) if change > 0 else math.floor(change))
    else:
        want = base + int(step.adjustment)
    if want == desired or (in_cooldown and want < desired):
        return  # scale-in waits for the cooldown; a scale-out must ask for more than exists
    if not in_cooldown:
        st["last"], st["base"] = end, desired
    set_desired(end, want, f"step alarm {p.comparison} {p.threshold:g} ({step.adjustment:+g})")


# --- the guide's Monday morning, done right ---------------------------------------------------

# The guide's table (L1203-1240): (clock, req/s, CPU %, memory %, tasks before, tasks after).
GUIDE_MONDAY_ROWS: tuple[tuple[str, int, int, int, int, int], ...] = (
    ("8:00", 5, 20, 40, 1, 1),
    ("8:15", 15, 45, 55, 1, 1),
    ("8:30", 35, 85, 75, 1, 2),
    ("8:31", 35, 55, 60, 2, 2),
    ("8:45", 55, 80, 70, 2, 3),
    ("8:46", 55, 55, 58, 3, 3),
    ("9:30", 20, 40, 50, 3, 3),
    ("9:35", 15, 35, 45, 3, 2),
    ("10:00", 8, 25, 40, 2, 1),
)
GUIDE_MONDAY_CLAIMED_SAVING = 53.0  # the guide's "53% savings" (L1249)
GUIDE_MONDAY_SCALE_IN_WAIT_MIN = 5  # the guide's "CPU < 70% for 5 min" (L1228)


def _minutes(clock: str) -> int:
    hours, minutes = map(int, clock.split(":"))
    return (hours - 8) * 60 + minutes


def monday_load_curve() -> list[float]:
    """Return 8:00-9:59 CPU demand in task-units, interpolated from the guide's table."""
    # demand = tasks x CPU % at each row (the guide's rows are not mutually consistent:
    # 35 req/s is 0.85 of a task at 8:30 and 1.1 at 8:31; we take them as given)
    points = [(_minutes(r[0]), r[4] * r[2] / 100) for r in GUIDE_MONDAY_ROWS]
    curve = []
    for minute in range(points[-1][0]):
        (m0, d0), (m1, d1) = next(
            (a, b) for a, b in itertools.pairwise(points) if a[0] <= minute < b[0]
        )
        curve.append(d0 + (d1 - d0) * (minute - m0) / (m1 - m0))
    return curve


@dataclass
class MondayMorning:
    """The guide's Monday-morning claims beside the modelled replay."""

    guide_rows: tuple
    guide_task_hours: float
    guide_claimed_saving_pct: float
    guide_saving_pct_correct: float
    always_3_task_hours: float
    modelled: ScalingResult
    modelled_saving_pct: float
    earliest_scale_in_min: float
    guide_scale_in_wait_min: float

    def table(self) -> list[dict[str, object]]:
        """Return guide-vs-model rows for the notebook."""
        first_out = next((a for a in self.modelled.activities if a.to_count > a.from_count), None)
        first_in = next((a for a in self.modelled.activities if a.to_count < a.from_count), None)
        return [
            {
                "quantity": "task-hours 8:00-10:00",
                "guide": round(self.guide_task_hours, 2),
                "model": round(self.modelled.task_hours, 2),
            },
            {
                "quantity": "saving vs always-3 (%)",
                "guide": self.guide_claimed_saving_pct,
                "model": round(self.modelled_saving_pct, 1),
                "guide, recomputed": round(self.guide_saving_pct_correct, 1),
            },
            {
                "quantity": "wait before scale-in (min)",
                "guide": self.guide_scale_in_wait_min,
                "model": self.earliest_scale_in_min,
            },
            {
                "quantity": "first scale-out",
                "guide": "8:30",
                "model": self.modelled.label(int(first_out.time_s // 60)) if first_out else None,
            },
            {
                "quantity": "first scale-in",
                "guide": "9:35",
                "model": self.modelled.label(int(first_in.time_s // 60)) if first_in else None,
            },
        ]

    def plot(self):
        """Return the modelled replay's figure."""
        return self.modelled.plot()


def monday_morning(
    policy: TargetTracking | None = None,
    *,
    start_delay_s: float | None = None,
    stop_delay_s: float | None = None,
) -> MondayMorning:
    """Return the guide's Monday-morning scenario (min 1, max 3, CPU 70 %) claimed vs modelled."""
    # The guide's policy: target 70 %, ScaleOutCooldown 60, ScaleInCooldown 300 (L1176-1184).
    policy = policy or TargetTracking(target=70, scale_out_cooldown_s=60, scale_in_cooldown_s=300)
    curve = monday_load_curve()
    modelled = replay(
        curve,
        policy,
        min_capacity=1,
        max_capacity=3,
        start_delay_s=start_delay_s,
        stop_delay_s=stop_delay_s,
        start_label="8:00",
    )
    guide_hours = task_hours(
        [n for n, minutes in cost.GUIDE_MONDAY_SEGMENTS for _ in range(minutes)]
    )
    always_3 = task_hours([3] * len(curve))
    return MondayMorning(
        guide_rows=GUIDE_MONDAY_ROWS,
        guide_task_hours=guide_hours,
        guide_claimed_saving_pct=GUIDE_MONDAY_CLAIMED_SAVING,
        guide_saving_pct_correct=cost.percent_saving(always_3, guide_hours),
        always_3_task_hours=always_3,
        modelled=modelled,
        modelled_saving_pct=cost.percent_saving(always_3, modelled.task_hours),
        earliest_scale_in_min=time_to_scale_in(60, policy.low_datapoints) / 60,
        guide_scale_in_wait_min=GUIDE_MONDAY_SCALE_IN_WAIT_MIN,
    )
