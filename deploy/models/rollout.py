"""Model an ECS rolling deployment's rules, settings and result: a model, not the emulator.

A model, not the emulator: computes what AWS would do from documented rules. moto stores a
service's deployment settings but never starts a task, never health-checks a target and never
rolls back (localstack/README.md), so these modules replay a rolling update from those
settings (`deploy.models.rollout_sim` runs the events; this module holds the rules, the
settings and the result). The rules, and where AWS documents them:
- Rolling update: at most floor(desired x maximumPercent / 100) tasks RUNNING or PENDING,
  at least ceil(desired x minimumHealthyPercent / 100) healthy ones; defaults 100 / 200.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
- Circuit breaker: threshold = 0.5 x desired count, at least 3, at most 200; AWS gives no
  rounding rule for an odd desired count, so rounding UP is this model's assumption (errata 1).
  It counts failed TASKS (never reached RUNNING, or failed ELB / container health checks), not
  probes; on failure with rollback it returns to the last COMPLETED deployment. The newer
  thresholdConfiguration (BOUNDED_PERCENT 50 by default, UNBOUNDED_PERCENT, COUNT) and
  resetOnHealthyTask (default true: a task reaching healthy resets the count) are modelled too.
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
- ALB target health: a newly registered target needs ONE passing check to become healthy;
  an unhealthy one needs HealthyThresholdCount consecutive passes; a target goes unhealthy on
  the UnhealthyThresholdCount-th consecutive failure (defaults 30 s, 5 s, 5, 2).
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
- healthCheckGracePeriodSeconds (default 0): ECS *ignores* unhealthy results during it; the
  checks still run from registration. Container health checks (interval 30, timeout 5,
  retries 3, startPeriod 0 by default) are a separate mechanism: failures inside startPeriod
  do not count. https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html
- Stopping a task behind an ALB: deregister -> the target drains for the deregistration delay
  (default 300 s) -> SIGTERM -> SIGKILL after stopTimeout (default 30 s, at most 120 s).
  https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeregisterTargets.html
The task timings (provisioning, image pull rate, app start, shutdown) are assumptions with
named defaults, not AWS rules; change them to match what you measure. Fully deterministic.
"""

import functools
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from deploy.guide import load
from deploy.guide.schema import RolloutGuide
from deploy.models.common import ModelError, require_int, require_non_negative, require_positive

__all__ = [
    "ContainerHealthCheck",
    "Event",
    "Failures",
    "ModelError",
    "RolloutConfig",
    "RolloutResult",
    "TaskTimeline",
    "circuit_breaker_threshold",
    "time_to_healthy",
    "time_to_unhealthy",
]


def circuit_breaker_threshold(
    desired_count: int, percent: float = 50.0, *, bounded: bool = True
) -> int:
    """Return the failed tasks that fail a deployment: 50 % of desired, 3..200 (rounding up assumed)."""
    require_int("desired_count", desired_count)
    require_positive("percent", percent)
    raw = math.ceil(desired_count * percent / 100)
    return min(max(raw, 3), 200) if bounded else raw


def time_to_unhealthy(interval_s: float, unhealthy_threshold: int) -> float:
    """Return seconds from registration until a never-passing target is marked unhealthy."""
    require_positive("interval_s", interval_s)
    require_int("unhealthy_threshold", unhealthy_threshold, minimum=2)
    return interval_s * unhealthy_threshold  # the Nth consecutive failed check, not the N+1th


def time_to_healthy(
    interval_s: float, healthy_threshold: int, *, newly_registered: bool = False
) -> float:
    """Return seconds of passing checks until a target is healthy (new targets need only one)."""
    require_positive("interval_s", interval_s)
    require_int("healthy_threshold", healthy_threshold, minimum=2)
    return interval_s * (1 if newly_registered else healthy_threshold)


@dataclass(frozen=True)
class ContainerHealthCheck:
    """A task definition's container healthCheck (AWS defaults)."""

    interval_s: float = 30
    timeout_s: float = 5
    retries: int = 3
    start_period_s: float = 0


@dataclass(frozen=True)
class RolloutConfig:
    """Service, task-definition and target-group settings plus task-timing assumptions."""

    desired_count: int = 1
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    health_check_grace_period_s: float = 0
    circuit_breaker: bool = False
    rollback: bool = False
    threshold_type: str = "BOUNDED_PERCENT"  # | UNBOUNDED_PERCENT | COUNT (thresholdConfiguration)
    threshold_value: float = 50.0
    reset_on_healthy_task: bool = True  # a task reaching healthy resets the failure count
    stop_timeout_s: float = 30
    container_health_check: ContainerHealthCheck | None = None
    load_balanced: bool = True
    tg_interval_s: float = 30
    tg_timeout_s: float = 5
    healthy_threshold: int = 5
    unhealthy_threshold: int = 2
    deregistration_delay_s: float = 300
    # Assumptions, not AWS settings: change them to what you measure.
    provision_s: float = 15  # capacity + ENI attachment before the pull starts
    image_size_gb: float = 4.4  # the guide's image
    pull_mb_per_s: float = 50.0  # download + unpack rate (Fargate caches no layers)
    app_start_s: float = 30  # container start -> /health answers
    shutdown_s: float = 2  # SIGTERM -> process exits
    max_time_s: float = 4 * 3600  # stop simulating a deployment that never finishes

    def __post_init__(self) -> None:
        require_int("desired_count", self.desired_count, minimum=1)
        require_int("minimum_healthy_percent", self.minimum_healthy_percent)
        require_int("maximum_percent", self.maximum_percent, minimum=100)
        if self.minimum_healthy_percent > 100:
            raise ModelError("minimum_healthy_percent must be at most 100 for a rolling update")
        for name in (
            "health_check_grace_period_s",
            "provision_s",
            "app_start_s",
            "shutdown_s",
            "image_size_gb",
        ):
            require_non_negative(name, getattr(self, name))
        for name in ("tg_interval_s", "tg_timeout_s", "pull_mb_per_s", "max_time_s"):
            require_positive(name, getattr(self, name))
        if not 0 <= self.deregistration_delay_s <= 3600:
            raise ModelError(
                f"deregistration_delay_s must be 0..3600, got {self.deregistration_delay_s}"
            )
        if not 0 <= self.stop_timeout_s <= 120:
            raise ModelError(f"stop_timeout_s must be 0..120 on Fargate, got {self.stop_timeout_s}")
        if self.tg_timeout_s >= self.tg_interval_s:
            raise ModelError("the target-group health-check timeout must be below its interval")
        require_int("healthy_threshold", self.healthy_threshold, minimum=2)
        kinds = ("BOUNDED_PERCENT", "UNBOUNDED_PERCENT", "COUNT")
        if self.threshold_type not in kinds:
            raise ModelError(f"threshold_type must be one of {kinds}, got {self.threshold_type!r}")
        require_positive("threshold_value", self.threshold_value)
        require_int("unhealthy_threshold", self.unhealthy_threshold, minimum=2)
        if self.max_tasks <= self.desired_count and self.min_healthy >= self.desired_count:
            raise ModelError(
                f"minimumHealthyPercent {self.minimum_healthy_percent} and maximumPercent "
                f"{self.maximum_percent} leave no room to replace any of {self.desired_count} tasks"
            )

    @property
    def max_tasks(self) -> int:
        """Return the most tasks allowed RUNNING or PENDING during the deployment."""
        return self.desired_count * self.maximum_percent // 100

    @property
    def min_healthy(self) -> int:
        """Return the fewest healthy tasks the deployment must keep."""
        return math.ceil(self.desired_count * self.minimum_healthy_percent / 100)

    @property
    def threshold(self) -> int:
        """Return the circuit-breaker threshold for this desired count."""
        if self.threshold_type == "COUNT":
            return int(self.threshold_value)
        bounded = self.threshold_type == "BOUNDED_PERCENT"
        return circuit_breaker_threshold(self.desired_count, self.threshold_value, bounded=bounded)

    @property
    def pull_s(self) -> float:
        """Return the modelled image pull time in seconds."""
        return self.image_size_gb * 1000 / self.pull_mb_per_s

    @classmethod
    def guide(cls, **overrides: Any) -> "RolloutConfig":
        """Return the guide's settings (deploy/guide/rollout.yaml) with `overrides` applied."""
        return cls(**{**_guide_settings(), **overrides})

    @classmethod
    def from_aws(
        cls,
        service: dict,
        task_definition: dict | None = None,
        target_group: dict | None = None,
        target_group_attributes: list | dict | None = None,
        **assumptions: Any,
    ) -> "RolloutConfig":
        """Build a config from describe_services / describe_task_definition /
        describe_target_groups (+ describe_target_group_attributes) output; gaps take AWS defaults."""
        service = _one(service, "services")
        task_definition = _one(task_definition or {}, "taskDefinition")
        target_group = _one(target_group or {}, "TargetGroups")
        dc = service.get("deploymentConfiguration") or {}  # moto's create_service drops it
        breaker = dc.get("deploymentCircuitBreaker") or {}
        containers = task_definition.get("containerDefinitions") or []
        essential = [c for c in containers if c.get("essential", True)] or containers
        stop_timeout = max((c.get("stopTimeout") or 30 for c in essential), default=30)
        check = next((c["healthCheck"] for c in essential if c.get("healthCheck")), None)
        container_check = None
        if check:
            container_check = ContainerHealthCheck(
                interval_s=check.get("interval", 30),
                timeout_s=check.get("timeout", 5),
                retries=check.get("retries", 3),
                start_period_s=check.get("startPeriod", 0),
            )
        attrs = target_group_attributes or {}
        if isinstance(attrs, dict) and "Attributes" in attrs:
            attrs = attrs["Attributes"]
        if isinstance(attrs, list):
            attrs = {a["Key"]: a["Value"] for a in attrs}
        threshold = (dc.get("deploymentCircuitBreaker") or {}).get("thresholdConfiguration") or {}
        values = dict(
            desired_count=service.get("desiredCount", 1),
            minimum_healthy_percent=dc.get("minimumHealthyPercent", 100),
            maximum_percent=dc.get("maximumPercent", 200),
            health_check_grace_period_s=service.get("healthCheckGracePeriodSeconds") or 0,
            circuit_breaker=bool(breaker.get("enable", False)),
            rollback=bool(breaker.get("rollback", False)),
            threshold_type=threshold.get("type", "BOUNDED_PERCENT"),
            threshold_value=float(threshold.get("value", 50)),
            reset_on_healthy_task=bool(breaker.get("resetOnHealthyTask", True)),
            stop_timeout_s=stop_timeout,
            container_health_check=container_check,
            load_balanced=bool(service.get("loadBalancers")) or bool(target_group),
            tg_interval_s=target_group.get("HealthCheckIntervalSeconds", 30),
            tg_timeout_s=target_group.get("HealthCheckTimeoutSeconds", 5),
            healthy_threshold=target_group.get("HealthyThresholdCount", 5),
            unhealthy_threshold=target_group.get("UnhealthyThresholdCount", 2),
            deregistration_delay_s=float(attrs.get("deregistration_delay.timeout_seconds", 300)),
        )
        return cls(**{**values, **assumptions})


def _one(obj: dict, key: str) -> dict:
    """Unwrap a describe_* response ({"services": [x]}, {"taskDefinition": x}) to the item."""
    if not isinstance(obj, dict):
        raise ModelError(f"expected a dict from a describe call, got {type(obj).__name__}")
    inner = obj.get(key)
    if isinstance(inner, list):
        if len(inner) != 1:
            raise ModelError(f"expected exactly one item under {key!r}, got {len(inner)}")
        return inner[0]
    return inner if isinstance(inner, dict) else obj


@dataclass(frozen=True)
class Failures:
    """Faults injected into the NEW revision (and how stopped tasks react to SIGTERM)."""

    crash_at_start: bool = False  # the new image exits soon after starting
    crash_after_s: float = 5
    fails_alb_health_check: bool = False  # /health never returns a success code
    fails_container_health_check: bool = False
    app_start_s: float | None = None  # slow start of the new revision
    image_size_gb: float | None = None  # a different image size for the new revision
    ignores_sigterm: bool = False  # stopped tasks only exit on SIGKILL
    only_tasks: tuple[int, ...] | None = None  # faults hit only these new tasks (1 = first)

    def hits(self, task_id: str) -> bool:
        """Return True if the faults apply to the task called `task_id`."""
        revision, _, number = task_id.partition("-")
        return revision == "new" and (self.only_tasks is None or int(number) in self.only_tasks)


class Event(NamedTuple):
    """One line of the deployment timeline."""

    time_s: float
    actor: str
    event: str
    detail: str = ""


@dataclass
class TaskTimeline:
    """One task's life: (start, end, state) spans, whether it failed and why it stopped."""

    task_id: str
    revision: str
    spans: list[tuple[float, float, str]] = field(default_factory=list)
    failed: bool = False
    stop_reason: str = ""


@dataclass
class RolloutResult:
    """The modelled deployment: events, task timelines and the outcome."""

    config: RolloutConfig
    events: list[Event]
    tasks: list[TaskTimeline]
    outcome: str  # COMPLETED | ROLLED_BACK | FAILED | IN_PROGRESS (never finished)
    time_to_complete_s: float | None
    failed_tasks: int
    threshold: int

    def summary(self) -> dict[str, object]:
        """Return the outcome, time to finish and failed-task count."""
        return {
            "outcome": self.outcome,
            "time_to_complete_s": self.time_to_complete_s,
            "failed_tasks": self.failed_tasks,
            "circuit_breaker_threshold": self.threshold,
            "tasks_started": len(self.tasks),
        }

    def table(self) -> list[dict[str, object]]:
        """Return the events as rows {time, time_s, actor, event, detail}."""
        return [{"time": _clock(e.time_s), **e._asdict()} for e in self.events]

    def find(self, event: str, actor: str | None = None) -> list[Event]:
        """Return the events whose text contains `event` (and whose actor starts with `actor`)."""
        return [
            e
            for e in self.events
            if event in e.event and (actor is None or e.actor.startswith(actor))
        ]


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


@functools.cache
def _guide_settings() -> dict[str, Any]:
    """Return the guide's service settings as RolloutConfig fields (read once, never changed)."""
    settings = load("rollout", RolloutGuide).settings
    check = settings.container_health_check
    fields = settings.model_dump(exclude={"source", "container_health_check"})
    return {
        **fields,
        "container_health_check": None if check is None else ContainerHealthCheck(**dict(check)),
    }
