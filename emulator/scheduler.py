"""The ECS service scheduler of the local data plane: keep services' tasks running, roll them.

What moto 5.2.5 does on its own: CreateService and UpdateService store settings and start no
task; one PRIMARY deployment reads COMPLETED, and runningCount is the MOTO_ECS_SERVICE_RUNNING
setting. While a `ServiceScheduler` runs (a data-plane `Part`, started after the `TaskRunner`),
it watches every REPLICA service with the ECS deployment controller in the plane's account and
region, and acts as ECS's scheduler does, through moto's own models:

- it keeps desiredCount tasks of the PRIMARY deployment, started through moto's RunTask (so the
  runner runs them) with startedBy = the deployment id and group "service:NAME";
- a RUNNING task's 127.0.0.1:host_port is registered in the service's target groups; a task it
  stops is deregistered first and drains for the deregistration delay (the runner's DEACTIVATING);
- a task unhealthy in a target group after healthCheckGracePeriodSeconds, a task whose
  container health check says UNHEALTHY, and a task whose essential container exited or that
  failed to start are replaced, and count as failed tasks of their deployment;
- UpdateService with a new task definition (or forceNewDeployment) makes a new PRIMARY
  deployment; the old one turns ACTIVE and is replaced within minimumHealthyPercent and
  maximumPercent; the deployment circuit breaker fails it at the threshold and, with rollback,
  rolls back to the last COMPLETED deployment's task definition;
- deployments carry rolloutState, runningCount, pendingCount and failedTasks, the service its
  runningCount and pendingCount, and service events use ECS's wording, newest first.

The rules (task counts, circuit-breaker threshold) come from the rollout model
(deploy.models.rollout.RolloutConfig), which cites AWS's documentation; this module applies
them to real tasks (moto's side, deployments and hooks: emulator.service_hooks). Every task is
placed as a Fargate task. localstack/README.md lists the moto extensions this needs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from deploy.models.common import ModelError
from deploy.models.rollout import RolloutConfig
from emulator import targets
from emulator.ecs_hooks import all_ecs_backends
from emulator.service_hooks import (
    ACTIVE_SCHEDULERS,
    add_event,
    install_service_extensions,
    new_deployment,
    now,
    reset_counts,
    short_id,
)
from emulator.tasks import (
    ESSENTIAL_CONTAINER_EXITED,
    TASK_FAILED_TO_START,
    TaskRunner,
)

log = logging.getLogger(__name__)

LOCAL_TARGET = "127.0.0.1"  # every local task listens on loopback, on its own port
STEADY = "has reached a steady state."
FAILED_TO_START = "tasks failed to start."
# ---------------------------------------------------------------- the scheduler


@dataclass
class ServiceState:
    """What the scheduler remembers about one service between looks."""

    counted: set[str] = field(default_factory=set)  # task ARNs whose end was judged
    healthy_seen: set[str] = field(default_factory=set)
    breaker: dict[str, int] = field(default_factory=dict)  # deployment id -> failures
    running_since: dict[str, float] = field(default_factory=dict)  # task ARN -> clock
    registered: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    completed: list[dict] = field(default_factory=list)  # COMPLETED deployments, oldest first
    steady: bool = False
    reset_on_healthy: bool = True
    warned: str | None = None


class ServiceScheduler:
    """Keep each ECS service's tasks running on the local data plane and roll its deployments."""

    def __init__(self, runner: TaskRunner, *, poll_s: float = 0.1) -> None:
        self.runner = runner
        self.poll_s = poll_s
        self.plane: Any = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.lock = threading.RLock()
        self._chained: Any = None
        self._states: dict[int, ServiceState] = {}  # by id() of moto's Service

    def __repr__(self) -> str:
        return f"ServiceScheduler(local data plane, {self.runner.mode} mode)"

    def start(self, plane: Any) -> ServiceScheduler:
        """Hook moto and start looking at the plane's services (start it after the runner)."""
        self.plane = plane
        install_service_extensions()
        self._chained = self.runner.deactivate
        self.runner.deactivate = self._deactivate
        self._stopping.clear()
        ACTIVE_SCHEDULERS.append(self)
        self._thread = threading.Thread(target=self._loop, name="ecs-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop scheduling; deregister the targets it registered (the runner stops the tasks)."""
        if self in ACTIVE_SCHEDULERS:
            ACTIVE_SCHEDULERS.remove(self)
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
        if self.runner.deactivate == self._deactivate:
            self.runner.deactivate = self._chained
        with self.lock:
            for _backend, service in self._services():
                st = self._states.get(id(service))
                for task_arn in list(st.registered) if st else []:
                    self._deregister(service, st, task_arn)

    # ------------------------------------------------------------ looking

    def _services(self) -> list[tuple[Any, Any]]:
        found = []
        for account, region, backend in all_ecs_backends():
            if (account, region) != (self.plane.account_id, self.plane.region):
                continue
            for service in list(backend.services.values()):
                if (service.deployment_controller or {}).get("type", "ECS") != "ECS":
                    continue
                if service.scheduling_strategy not in ("REPLICA", None):
                    continue
                found.append((backend, service))
        return found

    def _loop(self) -> None:
        while not self._stopping.wait(self.poll_s):
            try:
                self.tick()
            except Exception:  # keep scheduling: one odd service must not end the scheduler
                log.exception("ecs scheduler: a look at moto's services failed")

    def tick(self) -> None:
        """Look at every service once and act (the scheduler's thread calls this)."""
        with self.lock:
            for backend, service in self._services():
                self._service(backend, service)

    # ------------------------------------------------------------ one service

    def _service(self, backend: Any, service: Any) -> None:
        st = self._states.get(id(service))
        if st is None:
            if service.status != "ACTIVE":
                return  # deleted before this scheduler saw it
            st = self._states[id(service)] = ServiceState()
            reset_counts(service)
        if not service.deployments:
            return
        group = f"service:{service.name}"
        tasks = [
            t for t in backend.tasks.get(service.cluster_name, {}).values() if t.group == group
        ]
        live = [t for t in tasks if t.desired_status == "RUNNING" and t.status != "STOPPED"]
        primary = service.deployments[0]
        self._judge_ended(service, st, [t for t in tasks if t not in live])
        for task in live:
            if task.status == "RUNNING":
                st.running_since.setdefault(task.task_arn, self.plane.clock.now())
                self._register(service, st, task)
        live = [t for t in live if not self._replace_unhealthy(service, st, t)]
        if service.status != "ACTIVE":
            # A deleted (forced) service scales to zero, as desiredCount 0 would.
            reason = f"Scaling activity initiated by (deployment {primary['id']})"
            self._stop(service, st, live, reason)
            return
        config = self._config(service)
        if config is None:
            return
        st.reset_on_healthy = config.reset_on_healthy_task
        self._breaker(service, st, config, primary)
        primary = service.deployments[0]
        self._roll(backend, service, st, config, primary, live)
        self._account(service, st, config, tasks)

    def _config(self, service: Any) -> RolloutConfig | None:
        dc = getattr(service, "deployment_configuration", None) or {}
        breaker = dc.get("deploymentCircuitBreaker") or {}
        threshold = breaker.get("thresholdConfiguration") or {}
        try:
            config = RolloutConfig(
                desired_count=max(service.desired_count, 1),
                minimum_healthy_percent=int(dc.get("minimumHealthyPercent", 100)),
                maximum_percent=int(dc.get("maximumPercent", 200)),
                health_check_grace_period_s=float(
                    getattr(service, "health_check_grace_period_seconds", None) or 0
                ),
                circuit_breaker=bool(breaker.get("enable", False)),
                rollback=bool(breaker.get("rollback", False)),
                threshold_type=threshold.get("type", "BOUNDED_PERCENT"),
                threshold_value=float(threshold.get("value", 50)),
                reset_on_healthy_task=bool(breaker.get("resetOnHealthyTask", True)),
            )
        except ModelError as exc:
            st = self._states[id(service)]
            message = f"(service {service.name}) cannot deploy: {exc}"
            if st.warned != message:
                st.warned = message
                add_event(service, message)
            return None
        return config

    def _targets(self, service: Any) -> list[tuple[str, int | None]]:
        return [
            (lb["targetGroupArn"], lb.get("containerPort"))
            for lb in service.load_balancers or []
            if lb.get("targetGroupArn")
        ]

    def _healthy(self, service: Any, st: ServiceState, task: Any) -> bool:
        """Say whether a task counts as healthy: RUNNING, its checks passed, every target healthy."""
        if task.status != "RUNNING" or task.desired_status != "RUNNING":
            return False
        if self.runner.has_health_check(task.task_arn) and task.health_status != "HEALTHY":
            return False
        for tg_arn, port in st.registered.get(task.task_arn, []):
            health = self.plane.table.get(tg_arn, LOCAL_TARGET, port)
            if health is None or health.state != "healthy":
                return False
        if len(st.registered.get(task.task_arn, [])) < len(self._targets(service)):
            return False
        if task.task_arn not in st.healthy_seen:
            st.healthy_seen.add(task.task_arn)
            if st.reset_on_healthy:  # resetOnHealthyTask: a healthy task clears the count
                st.breaker[task.started_by] = 0
        return True

    def _register(self, service: Any, st: ServiceState, task: Any) -> None:
        if task.task_arn in st.registered:
            return
        elbv2 = targets.elbv2_backend(self.plane.account_id, self.plane.region)
        done = []
        for tg_arn, container_port in self._targets(service):
            port = self.runner.host_port(task.task_arn, container_port)
            if port is None:
                continue
            elbv2.register_targets(tg_arn, [{"Id": LOCAL_TARGET, "Port": port}])
            done.append((tg_arn, port))
            add_event(
                service, f"(service {service.name}) registered 1 targets in (target-group {tg_arn})"
            )
        st.registered[task.task_arn] = done

    def _deregister(self, service: Any, st: ServiceState, task_arn: str) -> float:
        """Deregister a task's targets; return the longest deregistration delay (AWS seconds)."""
        elbv2 = targets.elbv2_backend(self.plane.account_id, self.plane.region)
        delay = 0.0
        for tg_arn, port in st.registered.pop(task_arn, []):
            group = elbv2.target_groups.get(tg_arn)
            if group is None:
                continue
            try:
                elbv2.deregister_targets(tg_arn, [{"Id": LOCAL_TARGET, "Port": port}])
            except Exception:  # already gone (a learner deregistered it by hand)
                continue
            add_event(
                service,
                f"(service {service.name}) deregistered 1 targets in (target-group {tg_arn})",
            )
            delay = max(
                delay, float(group.attributes.get(targets.DELAY_KEY, targets.DEFAULT_DELAY))
            )
        return delay

    def _deactivate(self, task_arn: str) -> None:
        """In DEACTIVATING: deregister the task's targets and wait out the drain (task thread)."""
        if self._chained is not None:
            self._chained(task_arn)
        with self.lock:
            for _backend, service in self._services():
                st = self._states.get(id(service))
                if st is not None and task_arn in st.registered:
                    delay = self._deregister(service, st, task_arn)
                    add_event(
                        service,
                        f"(service {service.name}) has begun draining connections on 1 tasks.",
                    )
                    break
            else:
                return
        self._stopping.wait(self.plane.clock.seconds(delay))

    def _replace_unhealthy(self, service: Any, st: ServiceState, task: Any) -> bool:
        """Stop a RUNNING task that failed its health checks; return True if it was stopped."""
        if task.status != "RUNNING":
            return False
        name, task_id = service.name, short_id(task.task_arn)
        # healthCheckGracePeriodSeconds: unhealthy ELB and container checks are ignored for
        # this long after the task started (the checks themselves run from the start).
        since = st.running_since.get(task.task_arn, self.plane.clock.now())
        grace = float(getattr(service, "health_check_grace_period_seconds", None) or 0)
        if self.plane.clock.now() - since < self.plane.clock.seconds(grace):
            return False
        for tg_arn, port in st.registered.get(task.task_arn, []):
            health = self.plane.table.get(tg_arn, LOCAL_TARGET, port)
            if health is not None and health.state == "unhealthy":
                add_event(
                    service,
                    f"(service {name}) (task {task_id}) (port {port}) is unhealthy in "
                    f"(target-group {tg_arn}) due to (reason {health.description})",
                )
                self._fail(
                    service, st, task, f"Task failed ELB health checks in (target-group {tg_arn})"
                )
                return True
        if task.health_status == "UNHEALTHY":
            add_event(service, f"(service {name}) (task {task_id}) failed container health checks.")
            self._fail(service, st, task, "Task failed container health checks")
            return True
        return False

    def _fail(self, service: Any, st: ServiceState, task: Any, reason: str) -> None:
        st.counted.add(task.task_arn)
        self._count_failure(service, st, task.started_by)
        self._stop(service, st, [task], reason)

    def _count_failure(self, service: Any, st: ServiceState, deployment_id: str) -> None:
        for d in service.deployments:
            if d["id"] == deployment_id:
                d["failedTasks"] = d.get("failedTasks", 0) + 1
                st.breaker[deployment_id] = st.breaker.get(deployment_id, 0) + 1

    def _judge_ended(self, service: Any, st: ServiceState, ended: list[Any]) -> None:
        """Count each task that failed to start or whose essential container exited, once."""
        for task in ended:
            if task.task_arn in st.counted:
                continue
            st.counted.add(task.task_arn)
            st.running_since.pop(task.task_arn, None)
            if getattr(task, "stop_code", None) in (
                TASK_FAILED_TO_START,
                ESSENTIAL_CONTAINER_EXITED,
            ):
                self._count_failure(service, st, task.started_by)

    def _stop(self, service: Any, st: ServiceState, tasks: list[Any], reason: str) -> None:
        stopped = [t for t in tasks if self.runner.stop_task(t.task_arn, reason)]
        for task in stopped:
            st.counted.add(task.task_arn)
        if stopped:
            ids = " ".join(f"(task {short_id(t.task_arn)})" for t in stopped)
            add_event(
                service,
                f"(service {service.name}) has stopped {len(stopped)} running tasks: {ids}.",
            )

    def _breaker(
        self, service: Any, st: ServiceState, config: RolloutConfig, primary: dict
    ) -> None:
        """Fail the PRIMARY deployment at the threshold; with rollback, go back to the last good."""
        if primary.get("rolloutState") != "IN_PROGRESS" or not config.circuit_breaker:
            return
        if st.breaker.get(primary["id"], 0) < config.threshold:
            return
        primary["rolloutState"] = "FAILED"
        primary["rolloutStateReason"] = f"ECS deployment circuit breaker: {FAILED_TO_START}"
        primary["updatedAt"] = now()
        add_event(
            service,
            f"(service {service.name}) deployment {primary['id']} deployment failed: "
            f"{FAILED_TO_START}",
        )
        good = st.completed[-1] if st.completed else None
        if config.rollback and good is not None:
            new_deployment(
                service,
                good["taskDefinition"],
                f"ECS deployment circuit breaker: rolling back to deploymentId {good['id']}.",
            )
            add_event(service, f"(service {service.name}) rolling back to deployment {good['id']}.")

    def _roll(
        self,
        backend: Any,
        service: Any,
        st: ServiceState,
        config: RolloutConfig,
        primary: dict,
        live: list[Any],
    ) -> None:
        """Start and stop tasks within minimumHealthyPercent and maximumPercent."""
        desired = service.desired_count
        max_tasks = config.max_tasks if desired else 0
        min_healthy = config.min_healthy if desired else 0
        mine = [t for t in live if t.started_by == primary["id"]]
        others = [t for t in live if t.started_by != primary["id"]]
        if len(mine) > desired:  # scale in: pending and unhealthy tasks go first
            mine.sort(key=lambda t: self._healthy(service, st, t))
            self._stop(
                service,
                st,
                mine[: len(mine) - desired],
                f"Scaling activity initiated by (deployment {primary['id']})",
            )
            mine = mine[len(mine) - desired :]
        healthy = sum(self._healthy(service, st, t) for t in mine + others)
        going = []
        for task in sorted(others, key=lambda t: self._healthy(service, st, t)):
            if not self._healthy(service, st, task):
                going.append(task)
            elif healthy - 1 >= min_healthy:
                going.append(task)
                healthy -= 1
        if going:
            self._stop(
                service, st, going, f"Scaling activity initiated by (deployment {primary['id']})"
            )
            others = [t for t in others if t not in going]
        room = max_tasks - len(mine) - len(others)
        count = min(desired - len(mine), room)
        if count > 0 and primary.get("rolloutState") != "FAILED":
            self._start(backend, service, primary, count)

    def _start(self, backend: Any, service: Any, primary: dict, count: int) -> None:
        tags = service.tags if service.propagate_tags == "SERVICE" else None
        try:
            tasks = backend.run_task(
                service.cluster_name,
                primary["taskDefinition"],
                count,
                None,
                primary["id"],
                tags,
                "FARGATE",
                service.network_configuration or None,
                f"service:{service.name}",
                service.platform_version,
            )
        except Exception as exc:  # moto refused (a deleted task definition): say so, retry later
            message = f"(service {service.name}) was unable to place a task: {exc}"
            st = self._states[id(service)]
            if st.warned != message:
                st.warned = message
                add_event(service, message)
            return
        ids = " ".join(f"(task {short_id(t.task_arn)})" for t in tasks)
        add_event(service, f"(service {service.name}) has started {len(tasks)} tasks: {ids}.")

    def _account(
        self, service: Any, st: ServiceState, config: RolloutConfig, tasks: list[Any]
    ) -> None:
        """Write the counts, finish the deployment, drop empty old ones, report a steady state."""
        live = [t for t in tasks if t.desired_status == "RUNNING" and t.status != "STOPPED"]
        primary = service.deployments[0]
        for d in service.deployments:
            own = [t for t in live if t.started_by == d["id"]]
            d["runningCount"] = sum(t.status == "RUNNING" for t in own)
            d["pendingCount"] = sum(t.status in ("PROVISIONING", "PENDING") for t in own)
            d["desiredCount"] = service.desired_count if d is primary else len(own)
        service.running_count = sum(t.status == "RUNNING" for t in live)
        service.pending_count = sum(t.status in ("PROVISIONING", "PENDING") for t in live)
        mine = [t for t in live if t.started_by == primary["id"]]
        others_live = [t for t in live if t.started_by != primary["id"]]
        done = (
            len(mine) == service.desired_count
            and all(self._healthy(service, st, t) for t in mine)
            and not others_live
        )
        if primary.get("rolloutState") == "IN_PROGRESS" and done:
            primary["rolloutState"] = "COMPLETED"
            primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
            primary["updatedAt"] = now()
            st.completed.append(dict(primary))
            add_event(
                service,
                f"(service {service.name}) (deployment {primary['id']}) deployment completed.",
            )
        # An old deployment leaves the list once its last task has STOPPED (drained).
        service.deployments[1:] = [
            d
            for d in service.deployments[1:]
            if any(t.started_by == d["id"] and t.status != "STOPPED" for t in tasks)
        ]
        steady = (
            done and len(service.deployments) == 1 and primary.get("rolloutState") == "COMPLETED"
        )
        if steady and not st.steady:
            add_event(service, f"(service {service.name}) {STEADY}")
        st.steady = steady
