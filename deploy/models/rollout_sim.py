"""Replay an ECS rolling update event by event, from the rules in `deploy.models.rollout`.

A model, not the emulator: moto never starts a task, never health-checks a target and never
rolls back, so this module runs a deterministic discrete-event simulation of what AWS
documents (see `deploy.models.rollout` for each rule and its page, e.g.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html): the ECS
scheduler launching and stopping tasks, the ALB and container health checks, the grace period,
draining and the circuit breaker.
"""

import heapq
import math
from dataclasses import dataclass
from typing import Any

from deploy.models.rollout import Event, Failures, RolloutConfig, RolloutResult, TaskTimeline

__all__ = ["simulate_rollout"]


def simulate_rollout(config: RolloutConfig, failures: Failures | None = None) -> RolloutResult:
    """Replay a rolling update of `config.desired_count` tasks to a new revision."""
    return _Simulation(config, failures or Failures()).run()


@dataclass
class _Task:
    timeline: TaskTimeline
    revision: str
    deployment: str  # initial | new | rollback: a rollback is a new deployment of the old revision
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
        self.primary = "new"  # the revision the PRIMARY deployment runs
        self.deployment = "new"  # the PRIMARY deployment
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
            task = self._new_task("old", f"old-{i + 1}", "initial")
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
    def _new_task(self, revision: str, task_id: str, deployment: str) -> _Task:
        task = _Task(TaskTimeline(task_id, revision), revision, deployment, since=self.now)
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
        others = [t for t in alive if t.deployment != self.deployment]
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
        mine = [t for t in alive if t.deployment == self.deployment]
        room = c.max_tasks - len(alive)
        for _ in range(max(0, min(c.desired_count - len(mine), room))):
            self.launch()
        mine = [t for t in self.tasks if t.alive and t.deployment == self.deployment]
        leftovers = [t for t in self.tasks if t.deployment != self.deployment and not t.stopped]
        if len(mine) == c.desired_count and all(map(self.healthy, mine)) and not leftovers:
            self.done_at = self.now
            self.outcome = "COMPLETED" if self.primary == "new" else "ROLLED_BACK"
            what = "deployment COMPLETED" if self.primary == "new" else "rollback COMPLETED"
            self.log("ecs", what, f"steady state after {self.now:g} s")

    def launch(self) -> None:
        c, f = self.c, self.f
        n = sum(t.revision == self.primary for t in self.tasks) + 1
        task = self._new_task(self.primary, f"{self.primary}-{n}", self.deployment)
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
                        # The rollback is a new deployment of the last completed revision: it
                        # starts fresh tasks, and the old ones drain once those are healthy (the
                        # local data plane does the same; AWS does not document which).
                        self.primary, self.deployment = "old", "rollback"
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
