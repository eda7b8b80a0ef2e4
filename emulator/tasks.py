"""The ECS agent of the local data plane: run the tasks moto's ECS holds, and write their state back.

What moto 5.2.5 does on its own: RunTask stores a task whose lastStatus is RUNNING and starts
nothing; each DescribeTasks call then walks it one step along moto's `ecs::task` state manager
(RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED), whatever happens; StopTask marks it
STOPPED at once. CreateService and UpdateService start no task at all: runningCount is only the
MOTO_ECS_SERVICE_RUNNING setting (emulator/moto_server.py), so a service's tasks will come from
the service scheduler, which asks this runner through RunTask as ECS's scheduler does.

`TaskRunner` is the agent. It sees every task moto creates (RunTask and StartTask, hooked in
this process, plus a watcher over moto's backends for any other way in), stops moto's state
manager from moving it, and drives it as ECS does:

    PROVISIONING -> PENDING -> RUNNING -> DEACTIVATING -> STOPPING -> DEPROVISIONING -> STOPPED

At PENDING it resolves the container's secrets from Secrets Manager (a JSON key included) as
the execution role (its IAM grants are judged), its image from ECR, and makes each awslogs
stream (creating the group only if the role may); any failing stops the task with ECS's
wording and stopCode TaskFailedToStart. With `network_rules` (the troubleshooting lab) it
first judges the subnets' way to ECR (a model: emulator.task_inputs.ecr_reachable) and puts
the task's security groups in front of each published port (emulator.task_firewall). At
RUNNING the containers run on the engine (emulator/engine.py), each
published on a free 127.0.0.1 port (`host_port`), and each container's task-definition
healthCheck runs on its interval, timeout, retries and startPeriod. An essential container that
exits stops the task (EssentialContainerExited); StopTask stops it (UserInitiated), the service
scheduler through `stop_task` (ServiceSchedulerInitiated). Stopping sends SIGTERM, then SIGKILL
after the container's stopTimeout. Every field is written on moto's own Task and Container
models, so `aws ecs describe-tasks` and `list-tasks` show it; localstack/README.md lists the
extensions this needs.

Clock: real time by default. A compressed `emulator.clock.Clock` (the data plane's) shortens
the waits between health checks and the start period, labelled as such; a check's own timeout
and a container's stopTimeout stay real, since they bound work that takes real time.

The data plane (emulator/dataplane.py) runs it as a `Part`: `start(plane)` takes the plane's
clock; `add_listener` tells the load balancer's side when a task is RUNNING (register
127.0.0.1:`host_port`) and when it leaves; `deactivate` is called in DEACTIVATING (deregister and
drain before the task is sent SIGTERM).

Its pieces: what a task reads at start (emulator.task_inputs), container health checks
(emulator.container_health), the per-task record (emulator.task_record) and moto's hooks
(emulator.ecs_hooks); their public names are importable from here too.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from moto.ecs.models import Container

from deploy.aws.names import DEFAULT_NAMES, StackNames
from emulator.clock import Clock
from emulator.container_health import HEALTH_DEFAULTS, HealthCheck, HealthMonitor
from emulator.ecs_hooks import ACTIVE, all_ecs_backends, install_moto_extensions
from emulator.engine import (
    PROCESS,
    ContainerSpec,
    Engine,
    EngineError,
    ImageRef,
    from_task,
    held_tag,
    make_engine,
    parse_image,
)
from emulator.logs import LoggerError, destination, prepare
from emulator.task_firewall import Firewall, admits
from emulator.task_inputs import UNREACHABLE, SecretError, ecr_image, ecr_reachable, resolve_secret
from emulator.task_record import ContainerRun, TaskEvent, TaskRecord
from emulator.task_record import now as _now
from service.server import free_port

__all__ = [
    "DEFAULT_STOP_TIMEOUT",
    "ESSENTIAL_CONTAINER_EXITED",
    "ESSENTIAL_EXITED_REASON",
    "HEALTH_DEFAULTS",
    "LIFECYCLE",
    "SERVICE_SCHEDULER_INITIATED",
    "SHUTDOWN_REASON",
    "TASK_FAILED_TO_START",
    "USER_INITIATED",
    "USER_STOP_REASON",
    "ContainerRun",
    "HealthCheck",
    "HealthMonitor",
    "SecretError",
    "TaskEvent",
    "TaskRecord",
    "TaskRunner",
    "ecr_image",
    "install_moto_extensions",
    "resolve_secret",
]

log = logging.getLogger(__name__)

LIFECYCLE = (
    "PROVISIONING",
    "PENDING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
)
# stopCode values, as ECS reports them.
TASK_FAILED_TO_START = "TaskFailedToStart"
ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
USER_INITIATED = "UserInitiated"
SERVICE_SCHEDULER_INITIATED = "ServiceSchedulerInitiated"
ESSENTIAL_EXITED_REASON = "Essential container in task exited"
USER_STOP_REASON = "Task stopped by user"
SHUTDOWN_REASON = "Task stopped by user: the local data plane shut down"
# ECS's defaults for a container (task definition parameters reference).
DEFAULT_STOP_TIMEOUT = 30.0
# An app told to listen on one of these (HOST) is reachable only from inside its own task.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class TaskRunner:
    """Drive every task moto's ECS holds on an engine (podman, docker or process mode)."""

    def __init__(
        self,
        *,
        mode: str | None = None,
        engine: Engine | None = None,
        names: StackNames = DEFAULT_NAMES,
        registry: str | None = None,
        clock: Clock | None = None,
        poll_s: float = 0.1,
        deactivate: Callable[[str], None] | None = None,
        task_aws: dict[str, str] | None = None,
        network_rules: bool = False,
    ) -> None:
        self.engine = engine or make_engine(
            mode, service_repository=names.repository, registry=registry
        )
        self.clock = clock
        self.poll_s = poll_s
        # Called in DEACTIVATING with the task ARN (the ALB's deregistration and drain).
        self.deactivate = deactivate
        # How a task's code reaches AWS. On Fargate, ECS sets AWS_REGION and AWS_DEFAULT_REGION
        # and serves the task role's credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI); here
        # the emulator's endpoint and dummy credentials stand in for the task role; a URL on
        # the host's loopback is given as the mode's containers reach it (engine.from_task).
        self.task_aws = dict(task_aws or {})
        # Enforce the VPC's rules on each task: its security groups (emulator.task_firewall,
        # real) and its subnet's route to ECR (emulator.task_inputs.ecr_reachable, a model).
        # Off by default: the emulator's bare test VPCs have neither rules nor routes.
        self.network_rules = network_rules
        self._records: dict[str, TaskRecord] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._listeners: list[Callable[[TaskEvent], None]] = []
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._root: Path | None = None

    @property
    def mode(self) -> str:
        """Return how containers run: process, podman or docker."""
        return self.engine.mode

    def __repr__(self) -> str:
        running = sum(1 for r in self._records.values() if r.task.status == "RUNNING")
        return f"TaskRunner(local data plane, {self.mode} mode, {running} task(s) running)"

    # ------------------------------------------------------------ start and stop

    def start(self, plane: Any = None) -> TaskRunner:
        """Hook moto and start watching for tasks; `plane` (a DataPlane) lends its clock."""
        if self.clock is None:
            self.clock = plane.clock if plane is not None else Clock()
        install_moto_extensions()
        self._root = Path(tempfile.mkdtemp(prefix="ecs-agent-"))
        self._stopping.clear()
        ACTIVE.append(self)
        self._watcher = threading.Thread(target=self._watch, name="ecs-agent", daemon=True)
        self._watcher.start()
        return self

    def stop(self) -> None:
        """Stop every task this runner started, then the watcher; leave nothing running."""
        if self in ACTIVE:
            ACTIVE.remove(self)
        self._stopping.set()
        self._wake.set()
        if self._watcher is not None:
            self._watcher.join(10)
        with self._lock:
            records = list(self._records.values())
        for rec in records:
            rec.request_stop(USER_INITIATED, SHUTDOWN_REASON)
        for rec in records:
            if rec.thread is not None:
                rec.thread.join(self._stop_timeout(rec) + 30)
            self._remove_containers(rec)  # whatever a stuck thread left behind
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> TaskRunner:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ what others read

    def add_listener(self, listener: Callable[[TaskEvent], None]) -> None:
        """Call `listener` after each lifecycle or health change (from the task's thread)."""
        self._listeners.append(listener)

    def _record(self, task_arn: str) -> TaskRecord | None:
        with self._lock:
            if task_arn in self._records:
                return self._records[task_arn]
            task_id = task_arn.rsplit("/", 1)[-1]
            return next((r for r in self._records.values() if r.task.id == task_id), None)

    def host_port(self, task_arn: str, container_port: int | None = None) -> int | None:
        """Return the 127.0.0.1 port the task's container port is published on (None: none)."""
        rec = self._record(task_arn)
        return rec.host_port(container_port) if rec else None

    def history(self, task_arn: str) -> list[str]:
        """Return the lastStatus values the task has gone through, in order."""
        rec = self._record(task_arn)
        return list(rec.history) if rec else []

    def task_arns(self, *, running_only: bool = False) -> list[str]:
        """Return the ARNs of the tasks this runner drives (or only those RUNNING)."""
        with self._lock:
            records = list(self._records.values())
        return [r.arn for r in records if not running_only or r.task.status == "RUNNING"]

    def has_health_check(self, task_arn: str) -> bool:
        """Say whether an essential container of the task has a container health check."""
        rec = self._record(task_arn)
        return bool(rec) and any(
            r.essential and r.definition.get("healthCheck") for r in rec.containers
        )

    def log_path(self, task_arn: str, container: str | None = None) -> Path | None:
        """Return the file a task's container writes its stdout and stderr to."""
        rec = self._record(task_arn)
        for run in rec.containers if rec else []:
            if run.spec and container in (None, run.definition.get("name")):
                return run.spec.log_path
        return None

    def wait_status(self, task_arn: str, status: str, timeout: float = 60.0) -> str:
        """Wait until the task has reached `status` (or STOPPED); return its lastStatus."""
        target = LIFECYCLE.index(status)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                rec = self._record(task_arn)
                current = rec.task.status if rec else None
                if current in LIFECYCLE and LIFECYCLE.index(current) >= target:
                    return current
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"task {task_arn} is {current}, not {status}, after {timeout:g} s"
                    )
                self._changed.wait(min(left, 0.5))

    def stop_task(
        self, task_arn: str, reason: str, code: str = SERVICE_SCHEDULER_INITIATED
    ) -> bool:
        """Stop a task for the service scheduler; return False if this runner does not drive it."""
        rec = self._record(task_arn)
        if rec is None:
            return False
        rec.request_stop(code, reason)
        return True

    # ------------------------------------------------------------ moto's side

    def adopt(self, backend: Any, tasks: list[Any]) -> None:
        """Take over tasks moto just created: freeze moto's state manager, then drive them."""
        for task in tasks:
            self._adopt(backend, task)

    def user_stop(self, backend: Any, task_str: str, reason: str | None) -> Any | None:
        """Handle StopTask for a task this runner drives; return it (None: not ours)."""
        rec = self._record(task_str)
        if rec is None or rec.backend is not backend:
            return None
        rec.request_stop(USER_INITIATED, reason or USER_STOP_REASON)
        return rec.task

    def _adopt(self, backend: Any, task: Any) -> None:
        with self._lock:
            if task.task_arn in self._records or self._stopping.is_set():
                return
            # moto walks a task one state per DescribeTasks call; from now on only we move it.
            task._transitions = []
            definition = backend.describe_task_definition(task.task_definition_arn)
            rec = TaskRecord(
                task=task,
                backend=backend,
                account=backend.account_id,
                region=backend.region_name,
                definition=definition,
                containers=[
                    ContainerRun(d, self._container_model(task, d))
                    for d in self._definitions(task, definition)
                ],
            )
            task.containers = [run.model for run in rec.containers]
            task.created_at = _now()
            task.cpu, task.memory = definition.cpu, definition.memory
            task.health_status = "UNKNOWN"
            task.stopped_reason = None  # moto starts with "", which ECS never shows
            if not getattr(task, "platform_version", None) and task.launch_type == "FARGATE":
                task.platform_version = "1.4.0"  # what LATEST resolves to
            self._records[task.task_arn] = rec
            self._set(rec, "PROVISIONING")
            rec.thread = threading.Thread(
                target=self._drive, args=(rec,), name=f"ecs-task-{task.id[:8]}", daemon=True
            )
            rec.thread.start()

    @staticmethod
    def _definitions(task: Any, definition: Any) -> list[dict]:
        # RunTask's containerOverrides replace a container's command and add environment.
        overrides = {o.get("name"): o for o in (task.overrides or {}).get("containerOverrides", [])}
        out = []
        for d in definition.container_definitions:
            d = copy.deepcopy(d)
            o = overrides.get(d.get("name"), {})
            if o.get("command"):
                d["command"] = o["command"]
            if o.get("environment"):
                d["environment"] = [*d.get("environment", []), *o["environment"]]
            out.append(d)
        return out

    @staticmethod
    def _container_model(task: Any, d: dict) -> Any:
        model = Container.__new__(Container)  # moto's __init__ reads only the first definition
        partition_region = task.task_arn.split(":")[1:4]
        account = task.task_arn.split(":")[4]
        model.container_arn = (
            f"arn:{partition_region[0]}:ecs:{partition_region[2]}:{account}:container/"
            f"{task.cluster_name}/{task.id}/{uuid.uuid4()}"
        )
        model.task_arn = task.task_arn
        model.name = d.get("name")
        model.image = d.get("image")
        model.last_status = "PENDING"
        model.exitCode = None
        model.health_status = "UNKNOWN"
        model.cpu = str(d.get("cpu", 0))
        model.memory = str(d["memory"]) if d.get("memory") else None
        model.environment = d.get("environment")
        model.command = d.get("command")
        model.network_bindings = []
        eni = next(
            (a for a in task.attachments if a.get("type") == "ElasticNetworkInterface"), None
        )
        details = {x["name"]: x["value"] for x in (eni or {}).get("details", [])}
        model.network_interfaces = (
            [{"attachmentId": eni["id"], "privateIpv4Address": details.get("privateIPv4Address")}]
            if eni
            else []
        )
        return model

    def _watch(self) -> None:
        # RunTask/StartTask adopt at once (the hooks); this catches any other way a task
        # appears, and tasks that vanish (a moto reset): their containers are stopped.
        while not self._stopping.is_set():
            try:
                self._scan()
            except Exception:  # keep watching: one odd backend must not end the agent
                log.exception("ecs agent: scanning moto's ECS backends failed")
            self._wake.wait(max(self.poll_s, 0.05))
            self._wake.clear()

    def _scan(self) -> None:
        live: set[int] = set()
        for _account, _region, backend in all_ecs_backends():
            for tasks in list(backend.tasks.values()):
                for task in list(tasks.values()):
                    live.add(id(task))
                    # Not yet adopted: moto's state manager still moves it, and it is RUNNING
                    # in moto's eyes (read without letting the manager step it).
                    if (
                        task.task_arn not in self._records
                        and getattr(task, "_transitions", None)
                        and getattr(task, "_status", None) == "RUNNING"
                        and task.desired_status == "RUNNING"
                    ):
                        self._adopt(backend, task)
        with self._lock:
            records = list(self._records.values())
        for rec in records:
            if id(rec.task) not in live and not rec.stop_requested.is_set():
                rec.request_stop(USER_INITIATED, "Task vanished from the emulated account (reset)")

    # ------------------------------------------------------------ the task's thread

    def _set(self, rec: TaskRecord, status: str) -> None:
        with self._changed:
            rec.task.status = status
            rec.history.append(status)
            self._changed.notify_all()
        self._notify(rec)

    def _notify(self, rec: TaskRecord) -> None:
        event = TaskEvent(
            rec.arn,
            rec.task.cluster_name,
            rec.task.group,
            rec.task.started_by,
            rec.task.status,
            rec.task.health_status,
            rec.host_port(),
            self.mode,
        )
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("ecs agent: a task listener failed on %s", event)

    def _drive(self, rec: TaskRecord) -> None:
        try:
            failure = self._provision(rec)
            if failure is not None:
                rec.request_stop(TASK_FAILED_TO_START, failure)
            elif not rec.stop_requested.is_set():
                self._run(rec)
        except Exception as exc:  # a fault in the agent itself: stop the task, saying so
            log.exception("ecs agent: task %s failed", rec.arn)
            rec.request_stop(TASK_FAILED_TO_START, f"local data plane error: {exc}")
        finally:
            self._shut_down(rec)

    def _provision(self, rec: TaskRecord) -> str | None:
        """Resolve secrets and images, then start the containers; return a failure reason."""
        if rec.stop_requested.is_set():
            return None
        self._set(rec, "PENDING")
        network = getattr(rec.task, "network_configuration", None)
        if self.network_rules and not ecr_reachable(network, rec.account, rec.region):
            return UNREACHABLE.format(region=rec.region)
        role = getattr(rec.definition, "execution_role_arn", None)
        environments = []
        for run in rec.containers:
            aws = from_task(self.task_aws, self.mode)  # the emulator as the container sees it
            env = {"AWS_REGION": rec.region, "AWS_DEFAULT_REGION": rec.region, **aws}
            env.update({e["name"]: e["value"] for e in run.definition.get("environment") or []})
            try:
                for secret in run.definition.get("secrets") or []:
                    env[secret["name"]] = resolve_secret(
                        secret["valueFrom"], rec.account, rec.region, role, rec.task.id
                    )
            except SecretError as exc:
                return str(exc)
            environments.append(env)
        rec.task.pull_started_at = _now()
        images = []
        for run in rec.containers:
            image = parse_image(run.definition.get("image") or "")
            held = ecr_image(image)
            try:
                local = self.engine.resolve(image, held)
            except EngineError as exc:
                run.model.reason = str(exc)
                return str(exc)
            run.model.image_digest = held.digest if held else None
            # The tag it runs by (pinned by digest: the tag ECR holds), which names its revision.
            images.append((dataclasses.replace(image, tag=held_tag(image, held)), local))
        rec.task.pull_stopped_at = _now()
        for run in rec.containers:  # the awslogs driver makes its stream as the container starts
            try:
                where = destination(run.definition, rec.arn, rec.region, rec.task.launch_type)
                if where is not None:
                    prepare(run.definition, where, role)
            except LoggerError as exc:
                run.model.reason = str(exc)
                return str(exc)
        for run, env, (image, local) in zip(rec.containers, environments, images, strict=True):
            if rec.stop_requested.is_set():
                return None
            failure = self._start_container(rec, run, env, image, local)
            if failure is not None:
                return failure
        rec.started = True
        now = _now()
        rec.task.started_at = rec.task.connectivity_at = now
        rec.task.connectivity = "CONNECTED"
        self._set(rec, "RUNNING")
        return None

    def _start_container(
        self, rec: TaskRecord, run: ContainerRun, env: dict[str, str], image: ImageRef, local: str
    ) -> str | None:
        assert self._root is not None
        name = run.definition.get("name") or "container"
        port = run.port
        inner = None  # process mode: the port of the task's own loopback (see below)
        if self.mode == PROCESS and port is not None and env.get("HOST") in LOOPBACK_HOSTS:
            # In a task, 127.0.0.1 is the task's own loopback: the ALB, which comes in through
            # the ENI, cannot reach an app listening there, but a check run inside the task can.
            # Process mode shares one loopback, so the app's loopback gets a port of its own.
            inner = free_port()
            env = {**env, "PORT": str(inner)}
        run.spec = ContainerSpec(
            name=f"ecs-{rec.definition.family}-{rec.task.id[:12]}-{name}",
            image=ImageRef(local, image.name, image.tag, image.digest),
            environment=env,
            command=run.definition.get("command") or None,
            entry_point=run.definition.get("entryPoint") or None,
            port=port,
            host_port=free_port() if port is not None else None,
            read_only=bool(run.definition.get("readonlyRootFilesystem")),
            mounts=[m["containerPath"] for m in run.definition.get("mountPoints") or []],
            workdir=self._root / rec.task.id / name,
        )
        try:
            run.running = self.engine.start(run.spec)
        except EngineError as exc:
            run.model.reason = str(exc)
            run.spec.host_port = None
            return str(exc)
        # The mode shows in every describe-tasks: process:<pid>, podman:<name>, docker:<name>.
        run.model.runtime_id = f"{self.mode}:{run.running.runtime_id}"
        run.model.last_status = "RUNNING"
        if port is not None and self.network_rules and run.spec.host_port is not None:
            network = getattr(rec.task, "network_configuration", None)
            run.firewall = Firewall(
                run.spec.host_port, lambda: admits(network, rec.account, rec.region, port)
            )
        if port is not None:
            run.model.network_bindings = [
                {
                    "bindIP": "127.0.0.1",
                    "containerPort": port,
                    "hostPort": run.published,
                    "protocol": "tcp",
                }
            ]
        if run.definition.get("healthCheck"):
            check = HealthCheck.from_definition(run.definition["healthCheck"])
            if inner is not None:
                at = re.compile(rf"(127\.0\.0\.1|localhost|0\.0\.0\.0):{port}\b")
                check = dataclasses.replace(
                    check, argv=[at.sub(rf"\1:{inner}", a) for a in check.argv]
                )
            run.health = HealthMonitor(
                check,
                run.running,
                lambda s: self._health_changed(rec, run, s),
                self.clock,
                # Process mode: a check finds only the image's programs (its virtualenv), not
                # the host's: the slim image has no curl or wget.
                path=str(Path(sys.executable).parent) if self.mode == PROCESS else None,
            ).start()
        return None

    def _health_changed(self, rec: TaskRecord, run: ContainerRun, status: str) -> None:
        run.model.health_status = status
        # ECS: UNHEALTHY if an essential container is; HEALTHY once all essential containers
        # with a health check are; UNKNOWN while they are evaluated or when none has one.
        checked = [r.model.health_status for r in rec.containers if r.essential and r.health]
        if "UNHEALTHY" in checked:
            rec.task.health_status = "UNHEALTHY"
        elif checked and all(s == "HEALTHY" for s in checked):
            rec.task.health_status = "HEALTHY"
        else:
            rec.task.health_status = "UNKNOWN"
        self._notify(rec)

    def _run(self, rec: TaskRecord) -> None:
        """Watch the containers until the task is asked to stop or an essential one exits."""
        while not rec.stop_requested.wait(self.poll_s):
            for run in rec.containers:
                if run.running is None or run.exit_code is not None:
                    continue
                code = run.running.exit_code()
                if code is None:
                    continue
                self._exited(run, code)
                if run.essential:
                    rec.request_stop(ESSENTIAL_CONTAINER_EXITED, ESSENTIAL_EXITED_REASON)

    @staticmethod
    def _exited(run: ContainerRun, code: int) -> None:
        run.exit_code = code
        run.model.exitCode = code
        run.model.last_status = "STOPPED"
        if run.health is not None:
            run.health.stop()

    @staticmethod
    def _stop_timeout(rec: TaskRecord) -> float:
        return max(
            (
                float(r.definition.get("stopTimeout") or DEFAULT_STOP_TIMEOUT)
                for r in rec.containers
            ),
            default=DEFAULT_STOP_TIMEOUT,
        )

    def _shut_down(self, rec: TaskRecord) -> None:
        """Walk the task to STOPPED: deregister, SIGTERM, SIGKILL after stopTimeout, release."""
        rec.task.desired_status = "STOPPED"
        if rec.started:
            self._set(rec, "DEACTIVATING")
            if self.deactivate is not None:
                try:
                    self.deactivate(rec.arn)
                except Exception:
                    log.exception("ecs agent: deactivating %s failed", rec.arn)
        live = [r for r in rec.containers if r.running is not None and r.exit_code is None]
        if live:
            self._set(rec, "STOPPING")
            for run in live:
                if run.health is not None:
                    run.health.stop()
                run.running.signal(signal.SIGTERM)
            for run in live:
                timeout = float(run.definition.get("stopTimeout") or DEFAULT_STOP_TIMEOUT)
                code = run.running.wait(timeout)
                if code is None:
                    run.running.signal(signal.SIGKILL)
                    code = run.running.wait(10)
                self._exited(run, code if code is not None else 128 + signal.SIGKILL)
        self._set(rec, "DEPROVISIONING")
        self._remove_containers(rec)
        rec.task.execution_stopped_at = rec.task.stopped_at = _now()
        self._set(rec, "STOPPED")

    @staticmethod
    def _remove_containers(rec: TaskRecord) -> None:
        for run in rec.containers:
            if run.health is not None:
                run.health.stop()
            if run.firewall is not None:
                run.firewall.close()
            if run.running is not None:
                with contextlib.suppress(Exception):
                    run.running.remove()
