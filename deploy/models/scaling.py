"""Model ECS service auto-scaling's rules, policies and result: a model, not the emulator.

A model, not the emulator: computes what AWS would do from documented rules. moto stores
scalable targets, policies, their alarms and scheduled actions but never scales
(localstack/README.md), so `deploy.models.scaling_sim` replays a per-minute load against the
policies defined here. The rules, and where AWS documents them:
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

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from deploy.models.common import ModelError, require_int, require_non_negative, require_positive
from deploy.models.rollout import RolloutConfig

__all__ = [
    "METRICS",
    "Activity",
    "ModelError",
    "ScalingResult",
    "ScheduledAction",
    "StepAdjustment",
    "StepScaling",
    "TargetTracking",
    "default_start_delay_s",
    "default_stop_delay_s",
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


def percent_change(base: int, percent: float, min_magnitude: int | None = None) -> int:
    """Return the tasks a PercentChangeInCapacity step adds (negative: removes), as AWS rounds."""
    # AWS: a fraction between 0 and 1 (or 0 and -1) becomes 1 (or -1); beyond that the change
    # is truncated toward zero (12.7 -> 12, -6.67 -> -6). The step-scaling page's "scaling
    # adjustment types". MinAdjustmentMagnitude then raises a smaller change to that many
    # tasks (its example: 25 % of 4 tasks is 1, with a minimum of 2 the service adds 2).
    change = base * percent / 100
    if 0 < abs(change) < 1:
        change = 1 if change > 0 else -1
    change = math.trunc(change)
    if change and min_magnitude and abs(change) < min_magnitude:
        change = min_magnitude if change > 0 else -min_magnitude
    return change


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
    min_adjustment_magnitude: int | None = None  # PercentChangeInCapacity only

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
        if self.min_adjustment_magnitude is not None:
            require_int("min_adjustment_magnitude", self.min_adjustment_magnitude, minimum=1)
            if self.adjustment_type != "PercentChangeInCapacity":
                raise ModelError(
                    "min_adjustment_magnitude applies only to PercentChangeInCapacity, "
                    f"not {self.adjustment_type}"
                )

    def breaches(self, value: float) -> bool:
        """Say whether a datapoint breaches the alarm's threshold."""
        t = self.threshold
        return {">=": value >= t, ">": value > t, "<=": value <= t, "<": value < t}[self.comparison]

    def step_for(self, value: float) -> StepAdjustment | None:
        """Return the step whose bounds (relative to the threshold) hold `value`, if any."""
        delta = value - self.threshold  # lower bound inclusive, upper exclusive
        return next(
            (
                s
                for s in self.steps
                if (s.lower is None or delta >= s.lower) and (s.upper is None or delta < s.upper)
            ),
            None,
        )

    def count(self, value: float, base: int) -> int | None:
        """Return the count the policy asks for from `base` at `value` (None: no step applies)."""
        step = self.step_for(value)
        if step is None:
            return None
        if self.adjustment_type == "ExactCapacity":
            return int(step.adjustment)
        if self.adjustment_type == "PercentChangeInCapacity":
            return base + percent_change(base, step.adjustment, self.min_adjustment_magnitude)
        return base + int(step.adjustment)


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
