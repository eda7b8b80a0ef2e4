"""Model an ECS rolling deployment event by event: a model, not the emulator.

A model, not the emulator: computes what AWS would do from documented rules. moto stores a
service's deployment settings but never starts a task, never health-checks a target and never
rolls back (reference/emulators.md), so this module replays a rolling update from those
settings. The rules, and where AWS documents them:
- Rolling update: at most floor(desired x maximumPercent / 100) tasks RUNNING or PENDING,
  at least ceil(desired x minimumHealthyPercent / 100) healthy ones; defaults 100 / 200.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html
- Circuit breaker: threshold = 0.5 x desired count, at least 3, at most 200; it counts failed
  TASKS (never reached RUNNING, or failed ELB / container health checks), not probes; on
  failure with rollback it returns to the last COMPLETED deployment. The newer
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

import heapq
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from deploy.models_common import ModelError, require_int, require_non_negative, require_positive

__all__ = [
    "ContainerHealthCheck",
    "Event",
    "Failures",
    "ModelError",
    "RolloutConfig",
    "RolloutResult",
    "TaskTimeline",
    "circuit_breaker_threshold",
    "guide_q5_comparison",
    "simulate_rollout",
    "time_to_healthy",
    "time_to_unhealthy",
]


def circuit_breaker_threshold(
    desired_count: int, percent: float = 50.0, *, bounded: bool = True
) -> int:
    """Return how many failed tasks make ECS fail a deployment (ceil(50 % x desired), 3..200)."""
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
        """Return the guide's settings: 1 task, 100/200, grace 60 s, breaker + rollback, 2/2."""
        settings = dict(
            desired_count=1,
            health_check_grace_period_s=60,
            circuit_breaker=True,
            rollback=True,
            healthy_threshold=2,
            unhealthy_threshold=2,
            container_health_check=ContainerHealthCheck(),
        )
        return cls(**{**settings, **overrides})

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


STATE_COLOURS = {
    "provisioning": "#c7c7c7",
    "pulling": "#9ecae1",
    "starting": "#fdd0a2",
    "healthy": "#31a354",
    "unhealthy": "#de2d26",
    "draining": "#fd8d3c",
    "stopping": "#756bb1",
}


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

    def rich_table(self):
        """Return the timeline as a rich Table."""
        from rich.table import Table

        table = Table(title=f"Modelled rolling deployment: {self.outcome}")
        for column in ("time", "actor", "event", "detail"):
            table.add_column(column)
        for row in self.table():
            table.add_row(row["time"], row["actor"], row["event"], row["detail"])
        return table

    def plot(self, ax=None):
        """Return a matplotlib Figure: one bar per task, coloured by state over time."""
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch

        if ax is None:
            fig, ax = plt.subplots(figsize=(10, 0.5 * len(self.tasks) + 1.5))
        else:
            fig = ax.figure
        for row, task in enumerate(self.tasks):
            for start, end, state in task.spans:
                ax.barh(
                    row,
                    end - start,
                    left=start,
                    color=STATE_COLOURS[state],
                    edgecolor="white",
                    height=0.6,
                )
        ax.set_yticks(
            range(len(self.tasks)),
            [f"{t.task_id} ({t.revision}){' x' if t.failed else ''}" for t in self.tasks],
        )
        ax.invert_yaxis()
        for e in self.events:
            if e.actor == "circuit-breaker" and "FAILED" in e.event:
                ax.axvline(e.time_s, color="black", linestyle="--", linewidth=1)
        if self.time_to_complete_s is not None:
            ax.axvline(self.time_to_complete_s, color="green", linestyle=":", linewidth=1)
        ax.set_xlabel("seconds since update-service")
        ax.set_title(f"Modelled rolling deployment ({self.outcome}, model not emulator)")
        ax.legend(
            handles=[Patch(color=c, label=s) for s, c in STATE_COLOURS.items()],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.15),
            ncol=4,
            fontsize="small",
        )
        fig.tight_layout()
        return fig


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def simulate_rollout(config: RolloutConfig, failures: Failures | None = None) -> RolloutResult:
    """Replay a rolling update of `config.desired_count` tasks to a new revision."""
    return _Simulation(config, failures or Failures()).run()


# --- the simulation ---------------------------------------------------------------------------


@dataclass
class _Task:
    timeline: TaskTimeline
    revision: str
    state: str = "provisioning"
    since: float = 0.0
    alive: bool = True  # counts toward RUNNING/PENDING (not draining, stopping, stopped)
    running_at: float | None = None
    ready_at: float = math.inf
    registered: bool = False
    target: str = "unused"  # initial | healthy | unhealthy
    ok_streak: int = 0
    fail_streak: int = 0
    container: str = "UNKNOWN"  # UNKNOWN | HEALTHY | UNHEALTHY
    c_fail_streak: int = 0
    stopped: bool = False


class _Simulation:
    def __init__(self, config: RolloutConfig, failures: Failures) -> None:
        self.c, self.f = config, failures
        self.queue: list[tuple[float, int, Any, tuple]] = []
        self.seq = 0
        self.events: list[Event] = []
        self.tasks: list[_Task] = []
        self.primary = "new"
        self.failed = 0  # failed tasks of the new deployment, in total
        self.breaker_count = 0  # the circuit breaker's failure count (may reset)
        self.outcome: str | None = None
        self.done_at: float | None = None
        self.now = 0.0

    # scheduling
    def at(self, time_s: float, fn, *args) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (time_s, self.seq, fn, args))

    def log(self, actor: str, event: str, detail: str = "") -> None:
        self.events.append(Event(round(self.now, 3), actor, event, detail))

    def set_state(self, task: _Task, state: str) -> None:
        if self.now > task.since:
            task.timeline.spans.append((task.since, self.now, task.state))
        task.state, task.since = state, self.now

    def run(self) -> RolloutResult:
        c = self.c
        for i in range(c.desired_count):
            task = self._new_task("old", f"old-{i + 1}")
            task.running_at, task.ready_at = 0.0, 0.0
            task.state, task.target, task.container = "healthy", "healthy", "HEALTHY"
            task.registered = c.load_balanced
        self.log(
            "ecs",
            "update-service",
            f"new revision; desired {c.desired_count}, "
            f"{c.minimum_healthy_percent}% / {c.maximum_percent}%, max {c.max_tasks} tasks, "
            f"min healthy {c.min_healthy}",
        )
        if c.circuit_breaker:
            self.log("circuit-breaker", "monitoring", f"threshold {c.threshold} failed tasks")
        self.reconcile()
        while self.queue and self.outcome is None:
            time_s, _, fn, args = heapq.heappop(self.queue)
            if time_s > c.max_time_s:
                break
            self.now = time_s
            fn(*args)
        if self.outcome is None:
            self.now = min(self.now, c.max_time_s)
            self.outcome = "IN_PROGRESS"
            self.log(
                "ecs", "deployment still IN_PROGRESS", f"gave up modelling at {c.max_time_s:g} s"
            )
        for task in self.tasks:
            if not task.stopped:
                self.set_state(task, task.state)
        return RolloutResult(
            c,
            self.events,
            [t.timeline for t in self.tasks],
            self.outcome,
            self.done_at,
            self.failed,
            c.threshold,
        )

    # ECS scheduler
    def _new_task(self, revision: str, task_id: str) -> _Task:
        task = _Task(TaskTimeline(task_id, revision), revision, since=self.now)
        self.tasks.append(task)
        return task

    def healthy(self, task: _Task) -> bool:
        if not task.alive or task.running_at is None:
            return False
        lb_ok = task.target == "healthy" if self.c.load_balanced else True
        c_ok = task.container == "HEALTHY" if self.c.container_health_check else True
        return lb_ok and c_ok

    def reconcile(self) -> None:
        if self.outcome is not None:
            return
        c = self.c
        alive = [t for t in self.tasks if t.alive]
        others = [t for t in alive if t.revision != self.primary]
        healthy = sum(self.healthy(t) for t in alive)
        why = (
            "replaced by the new deployment" if self.primary == "new" else "deployment rolled back"
        )
        for task in sorted(others, key=self.healthy):
            if not self.healthy(task):
                self.stop(task, why)
            elif healthy - 1 >= c.min_healthy:
                healthy -= 1
                self.stop(task, why)
        alive = [t for t in self.tasks if t.alive]
        mine = [t for t in alive if t.revision == self.primary]
        room = c.max_tasks - len(alive)
        for _ in range(max(0, min(c.desired_count - len(mine), room))):
            self.launch()
        mine = [t for t in self.tasks if t.alive and t.revision == self.primary]
        leftovers = [t for t in self.tasks if t.revision != self.primary and not t.stopped]
        if len(mine) == c.desired_count and all(map(self.healthy, mine)) and not leftovers:
            self.done_at = self.now
            self.outcome = "COMPLETED" if self.primary == "new" else "ROLLED_BACK"
            what = "deployment COMPLETED" if self.primary == "new" else "rollback COMPLETED"
            self.log("ecs", what, f"steady state after {self.now:g} s")

    def launch(self) -> None:
        c, f = self.c, self.f
        n = sum(t.revision == self.primary for t in self.tasks) + 1
        task = self._new_task(self.primary, f"{self.primary}-{n}")
        size = (
            f.image_size_gb
            if (f.image_size_gb is not None and task.revision == "new")
            else c.image_size_gb
        )
        self.log(task.timeline.task_id, "PROVISIONING", "ECS places the task (ENI, capacity)")
        self.at(self.now + c.provision_s, self.pulling, task, size)

    def pulling(self, task: _Task, size_gb: float) -> None:
        if task.stopped:
            return
        self.set_state(task, "pulling")
        pull_s = size_gb * 1000 / self.c.pull_mb_per_s
        self.log(
            task.timeline.task_id,
            "PENDING: pulling image",
            f"{size_gb:g} GB at {self.c.pull_mb_per_s:g} MB/s ~ {pull_s:.0f} s (billing starts)",
        )
        self.at(self.now + pull_s, self.started, task)

    def started(self, task: _Task) -> None:
        if task.stopped:
            return
        c, f = self.c, self.f
        new = self.f.hits(task.timeline.task_id)
        task.running_at = self.now
        self.set_state(task, "starting")
        tid = task.timeline.task_id
        self.log(tid, "RUNNING", "container started")
        if new and f.crash_at_start:
            self.at(self.now + f.crash_after_s, self.crashed, task)
        else:
            start = f.app_start_s if (new and f.app_start_s is not None) else c.app_start_s
            task.ready_at = self.now + start
            self.at(task.ready_at, self.app_ready, task)
        if c.load_balanced:
            task.registered, task.target = True, "initial"
            self.log("alb", "target registered", f"{tid}: state initial")
            self.at(self.now + c.tg_interval_s, self.alb_check, task, 1)
        if c.container_health_check:
            self.at(self.now + c.container_health_check.interval_s, self.container_check, task, 1)
        if c.health_check_grace_period_s:
            self.at(self.now + c.health_check_grace_period_s, self.grace_over, task)
        if not c.load_balanced and not c.container_health_check:
            self.set_state(task, "healthy")
        self.reconcile()

    def app_ready(self, task: _Task) -> None:
        if task.alive:
            self.log(task.timeline.task_id, "app listening", "/health can answer from now")

    def crashed(self, task: _Task) -> None:
        if not task.alive:
            return
        self.log(task.timeline.task_id, "container exited", "EssentialContainerExited (exit 1)")
        self.fail(task, "essential container exited", already_dead=True)

    def alb_check(self, task: _Task, n: int) -> None:
        if task.stopped or not task.registered or task.target == "draining":
            return
        c = self.c
        passed = self.now >= task.ready_at and not (
            self.f.hits(task.timeline.task_id) and self.f.fails_alb_health_check
        )
        tid = task.timeline.task_id
        if passed:
            task.ok_streak, task.fail_streak = task.ok_streak + 1, 0
            needed = 1 if task.target == "initial" else c.healthy_threshold
            if task.target != "healthy":  # passes of a healthy target are not news
                self.log("alb", f"health check #{n} passed", f"{tid} ({task.ok_streak}/{needed})")
            if task.target != "healthy" and task.ok_streak >= needed:
                task.target = "healthy"
                self.log("alb", "target healthy", f"{tid}: receives traffic")
        else:
            task.fail_streak, task.ok_streak = task.fail_streak + 1, 0
            why = "connection refused" if self.now < task.ready_at else "HTTP 500"
            self.log(
                "alb",
                f"health check #{n} failed",
                f"{tid} {why} ({task.fail_streak}/{c.unhealthy_threshold})",
            )
            if task.target != "unhealthy" and task.fail_streak >= c.unhealthy_threshold:
                task.target = "unhealthy"
                self.log("alb", "target unhealthy", f"{tid}: no traffic")
        self.at(self.now + c.tg_interval_s, self.alb_check, task, n + 1)
        self.judge(task)

    def container_check(self, task: _Task, n: int) -> None:
        if task.stopped or not task.alive:
            return
        hc = self.c.container_health_check
        tid = task.timeline.task_id
        passed = self.now >= task.ready_at and not (
            self.f.hits(task.timeline.task_id) and self.f.fails_container_health_check
        )
        in_start_period = self.now < task.running_at + hc.start_period_s
        if passed:
            task.c_fail_streak = 0
            if task.container != "HEALTHY":
                task.container = "HEALTHY"
                self.log("container", "health check HEALTHY", f"{tid} (check #{n})")
        elif in_start_period:
            self.log("container", f"health check #{n} failed (ignored)", f"{tid}: in startPeriod")
        else:
            task.c_fail_streak += 1
            if task.c_fail_streak >= hc.retries and task.container != "UNHEALTHY":
                task.container = "UNHEALTHY"
                self.log("container", "health check UNHEALTHY", f"{tid} after {hc.retries} retries")
        self.at(self.now + hc.interval_s, self.container_check, task, n + 1)
        self.judge(task)

    def grace_over(self, task: _Task) -> None:
        if task.alive:
            self.log("ecs", "grace period over", f"{task.timeline.task_id}: health now counts")
            self.judge(task)

    def judge(self, task: _Task) -> None:
        """Apply ECS's reaction to a task's current health."""
        if not task.alive:
            return
        bad = (self.c.load_balanced and task.target == "unhealthy") or task.container == "UNHEALTHY"
        if bad:
            grace_end = task.running_at + self.c.health_check_grace_period_s
            if self.now < grace_end:
                self.log(
                    "ecs",
                    "unhealthy result ignored",
                    f"{task.timeline.task_id}: grace period until {grace_end:g} s",
                )
                return
            self.fail(task, "failed health checks")
            return
        state = "healthy" if self.healthy(task) else task.state
        if state != task.state:
            self.set_state(task, state)
            if task.revision == "new" and self.primary == "new" and self.c.reset_on_healthy_task:
                if self.c.circuit_breaker and self.breaker_count:
                    self.log(
                        "circuit-breaker", "failure count reset", f"{task.timeline.task_id} healthy"
                    )
                self.breaker_count = 0
        self.reconcile()

    def fail(self, task: _Task, reason: str, already_dead: bool = False) -> None:
        task.timeline.failed = True
        self.set_state(task, "unhealthy")
        victims = []
        c = self.c
        if task.revision == "new" and self.primary == "new":
            self.failed += 1  # the breaker counts failed TASKS of the deployment, not probes
            self.breaker_count += 1
            if c.circuit_breaker:
                self.log(
                    "circuit-breaker", "failed task counted", f"{self.breaker_count}/{c.threshold}"
                )
                if self.breaker_count >= c.threshold:
                    self.log("circuit-breaker", "deployment FAILED", f"{self.failed} failed tasks")
                    if not c.rollback:
                        self.outcome, self.done_at = "FAILED", self.now
                        self.log("ecs", "no rollback configured", "new tasks stop being launched")
                    else:
                        self.primary = "old"
                        self.log(
                            "ecs",
                            "rollback started",
                            "the last COMPLETED deployment is IN_PROGRESS again",
                        )
                        victims = [
                            t
                            for t in self.tasks
                            if t.revision == "new" and t.alive and t is not task
                        ]
        self.stop(task, reason, already_dead=already_dead)
        for other in victims:
            self.stop(other, "deployment rolled back")
        self.reconcile()

    def stop(self, task: _Task, reason: str, already_dead: bool = False) -> None:
        if not task.alive:
            return
        task.alive = False
        task.timeline.stop_reason = reason
        tid = task.timeline.task_id
        self.log("ecs", "stopping task", f"{tid}: {reason}")
        if task.running_at is None or already_dead:
            if task.registered:
                self.log("alb", "target deregistered", f"{tid}")
            self.stopped(task, "STOPPED")
            return
        if task.registered:
            task.target = "draining"
            self.set_state(task, "draining")
            self.log(
                "alb",
                "target draining",
                f"{tid}: {self.c.deregistration_delay_s:g} s deregistration delay, no new requests",
            )
            self.at(self.now + self.c.deregistration_delay_s, self.sigterm, task)
        else:
            self.sigterm(task)

    def sigterm(self, task: _Task) -> None:
        c = self.c
        tid = task.timeline.task_id
        if task.registered:
            self.log("alb", "target deregistered", f"{tid}: draining done")
        self.set_state(task, "stopping")
        self.log(tid, "SIGTERM", f"stopTimeout {c.stop_timeout_s:g} s")
        if self.f.ignores_sigterm or c.shutdown_s > c.stop_timeout_s:
            self.at(self.now + c.stop_timeout_s, self.stopped, task, "SIGKILL after stopTimeout")
        else:
            self.at(self.now + c.shutdown_s, self.stopped, task, "exited on SIGTERM")

    def stopped(self, task: _Task, how: str) -> None:
        self.set_state(task, task.state)
        task.stopped, task.alive = True, False
        self.log(task.timeline.task_id, "STOPPED", how)
        self.reconcile()


# The guide's Q5 "health checks fail" timeline (L2235-2247), seconds after the new task starts.
GUIDE_Q5 = {"target unhealthy": 120, "rollback starts": 120, "stable again": 180, "failed": 1}


def guide_q5_comparison(config: RolloutConfig | None = None) -> list[dict[str, object]]:
    """Return the guide's Q5 failure timeline beside the modelled one (errata items 1 and 3)."""
    result = simulate_rollout(
        config or RolloutConfig.guide(), Failures(fails_alb_health_check=True)
    )
    start = result.find("RUNNING", "new-1")[0].time_s
    unhealthy = next(e.time_s for e in result.find("target unhealthy") if "new-1" in e.detail)
    rollback = result.find("rollback started")
    done = result.time_to_complete_s
    return [
        {
            "quantity": "new-1 marked unhealthy (s after it starts)",
            "guide": GUIDE_Q5["target unhealthy"],
            "model": unhealthy - start,
        },
        {
            "quantity": "rollback starts (s after the first new task starts)",
            "guide": GUIDE_Q5["rollback starts"],
            "model": rollback[0].time_s - start if rollback else None,
        },
        {
            "quantity": "service stable again (s)",
            "guide": GUIDE_Q5["stable again"],
            "model": None if done is None else done - start,
        },
        {
            "quantity": "failed tasks before rollback",
            "guide": GUIDE_Q5["failed"],
            "model": result.failed_tasks,
        },
    ]
