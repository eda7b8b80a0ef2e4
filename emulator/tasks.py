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

At PENDING it resolves the container's secrets from Secrets Manager (a JSON key included) and
its image from ECR; either failing stops the task with ECS's wording and stopCode
TaskFailedToStart. At RUNNING the containers run on the engine (emulator/engine.py), each
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
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ecr.models import ecr_backends
from moto.ecs.models import Container, ecs_backends
from moto.ecs.models import EC2ContainerServiceBackend as Ecs
from moto.secretsmanager.models import secretsmanager_backends

from deploy.aws.names import DEFAULT_NAMES, StackNames
from emulator.clock import Clock
from emulator.engine import (
    ContainerSpec,
    EcrImage,
    Engine,
    EngineError,
    ImageRef,
    Running,
    make_engine,
    parse_image,
)
from service.server import free_port

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
HEALTH_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0}
# The Fargate agent's words when a secret cannot be read, e.g. "ResourceInitializationError:
# unable to pull secrets or registry auth: execution resource retrieval failed: unable to
# retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret
# <arn> from secrets manager: ResourceNotFoundException: Secrets Manager can't find the
# specified secret." (amazon-ecs-agent, agent/asm/asm.go, as Fargate reports it).
SECRETS_PREFIX = (
    "ResourceInitializationError: unable to pull secrets or registry auth: "
    "execution resource retrieval failed: "
)
ASM_PREFIX = (
    SECRETS_PREFIX + "unable to retrieve secret from asm: service call has been retried 1 time(s): "
)
SSM_PREFIX = (
    SECRETS_PREFIX
    + "unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
)


class SecretError(Exception):
    """A secret could not be read; the message is ECS's stopped reason."""


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- what a task reads at start


def resolve_secret(value_from: str, account: str, region: str) -> str:
    """Return the value a container secret's `valueFrom` names (Secrets Manager or SSM)."""
    if value_from.startswith("arn:") and ":secretsmanager:" in value_from:
        return _secrets_manager(value_from)
    return _parameter_store(value_from, account, region)


def _secrets_manager(value_from: str) -> str:
    # arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json-key>:<stage>:<version-id>]
    parts = value_from.split(":")
    if len(parts) not in (7, 10) or parts[5] != "secret":
        raise SecretError(
            f"{ASM_PREFIX}trying to retrieve secret with value {value_from} resulted in error: "
            "an invalid ARN format for the AWS Secrets Manager secret was specified"
        )
    arn, (key, stage, version) = ":".join(parts[:7]), (parts[7:] or ["", "", ""])
    backend = secretsmanager_backends[parts[4]][parts[3]]
    try:
        value = backend.get_secret_value(arn, version or None, stage or None)
    except JsonRESTError as exc:  # moto raises AWS's code and message
        raise SecretError(
            f"{ASM_PREFIX}failed to fetch secret {arn} from secrets manager: "
            f"{exc.error_type}: {exc.message}"
        ) from None
    text = value.get("SecretString", "")
    if not key:
        return text
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict) or key not in document:
        raise SecretError(
            f"{ASM_PREFIX}retrieved secret from Secrets Manager did not contain json key {key}"
        )
    found = document[key]
    return found if isinstance(found, str) else json.dumps(found)


def _parameter_store(value_from: str, account: str, region: str) -> str:
    # Imported on first use: only a task naming an SSM parameter needs moto's SSM (~0.3 s).
    from moto.ssm.models import ssm_backends

    name = value_from
    if value_from.startswith("arn:"):  # arn:aws:ssm:<region>:<account>:parameter/<name>
        parts = value_from.split(":", 5)
        region, account = parts[3], parts[4]
        name = parts[5].removeprefix("parameter")
        name = name if name.startswith("/") and name.count("/") > 1 else name.lstrip("/")
    parameter = ssm_backends[account][region].get_parameter(name)
    if parameter is None:
        raise SecretError(f"{SSM_PREFIX}invalid parameters: {name}")
    return parameter.value


def ecr_image(image: ImageRef) -> EcrImage | None:
    """Return what moto's ECR holds for an ECR image's tag or digest (None: nothing)."""
    if not image.account or not image.region:
        return None
    repository = ecr_backends[image.account][image.region].repositories.get(image.name)
    for held in repository.images if repository else []:
        digest = held.get_image_digest()
        if (image.digest and digest == image.digest) or (
            not image.digest and (image.tag or "latest") in held.image_tags
        ):
            return EcrImage(digest, tuple(held.image_tags))
    return None


# ---------------------------------------------------------------- container health checks


@dataclass(frozen=True)
class HealthCheck:
    """A container's task-definition healthCheck, in seconds."""

    argv: list[str]
    interval: float = 30
    timeout: float = 5
    retries: int = 3
    start_period: float = 0

    @classmethod
    def from_definition(cls, check: dict) -> HealthCheck:
        """Read `healthCheck` (CMD-SHELL or CMD) with ECS's defaults for what is missing."""
        command = list(check.get("command") or [])
        if command[:1] == ["CMD-SHELL"]:
            argv = ["/bin/sh", "-c", " ".join(command[1:])]
        elif command[:1] == ["CMD"]:
            argv = command[1:]
        else:
            raise ValueError(f"healthCheck command must start with CMD or CMD-SHELL: {command}")
        values = {**HEALTH_DEFAULTS, **{k: v for k, v in check.items() if k != "command"}}
        return cls(
            argv,
            float(values["interval"]),
            float(values["timeout"]),
            int(values["retries"]),
            float(values["startPeriod"]),
        )


class HealthMonitor:
    """Run one container's health check on its schedule; report HEALTHY or UNHEALTHY."""

    def __init__(
        self,
        check: HealthCheck,
        container: Running,
        on_change: Callable[[str], None],
        clock: Clock | None = None,
    ) -> None:
        self.check = check
        self.container = container
        self.on_change = on_change
        self.clock = clock or Clock()
        self.status = "UNKNOWN"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ecs-health", daemon=True)

    def start(self) -> HealthMonitor:
        """Start checking (the first check runs one interval after the start)."""
        self._thread.start()
        return self

    def _run(self) -> None:
        # Docker's rules, which ECS uses: failures inside the start period do not count; a
        # success at any time makes the container HEALTHY; `retries` failures in a row after
        # the start period make it UNHEALTHY.
        started, failures = time.monotonic(), 0
        argv = self.container.health_argv(self.check.argv)
        while not self._stop.wait(self.clock.seconds(self.check.interval)):
            code = self.container.exec(argv, self.check.timeout)
            if self._stop.is_set():
                return
            if code == 0:
                failures = 0
                self._set("HEALTHY")
            elif time.monotonic() - started >= self.clock.seconds(self.check.start_period):
                failures += 1
                if failures >= self.check.retries:
                    self._set("UNHEALTHY")

    def _set(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self.on_change(status)

    def stop(self) -> None:
        """Stop checking and wait for a running check to end."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self.check.timeout + 5)


# ---------------------------------------------------------------- one task


@dataclass
class ContainerRun:
    """One container of a task: its definition, moto's model of it, and what runs."""

    definition: dict
    model: Any  # moto.ecs.models.Container
    spec: ContainerSpec | None = None
    running: Running | None = None
    health: HealthMonitor | None = None
    exit_code: int | None = None

    @property
    def essential(self) -> bool:
        """Say whether the task stops when this container exits."""
        return bool(self.definition.get("essential", True))

    @property
    def port(self) -> int | None:
        """Return the first containerPort the definition maps, if any."""
        mappings = self.definition.get("portMappings") or []
        return int(mappings[0]["containerPort"]) if mappings else None


@dataclass(frozen=True)
class TaskEvent:
    """A change the runner made to a task (for the ALB's targets and the scheduler)."""

    task_arn: str
    cluster: str
    group: str
    started_by: str
    last_status: str
    health_status: str
    host_port: int | None
    mode: str  # process, podman or docker: how the task's containers run


@dataclass
class TaskRecord:
    """A task this runner drives."""

    task: Any  # moto.ecs.models.Task
    backend: Any  # the moto ECS backend that holds it
    account: str
    region: str
    definition: Any  # moto.ecs.models.TaskDefinition
    containers: list[ContainerRun]
    history: list[str] = field(default_factory=list)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    started: bool = False
    _stop_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def arn(self) -> str:
        """Return the task's ARN."""
        return self.task.task_arn

    def request_stop(self, code: str, reason: str) -> None:
        """Ask the task to stop; the first request's code and reason are the ones kept."""
        with self._stop_lock:
            if self.stop_requested.is_set():
                return
            self.task.desired_status = "STOPPED"
            self.task.stop_code = code
            self.task.stopped_reason = reason
            self.task.stopping_at = _now()
            self.stop_requested.set()

    def host_port(self, container_port: int | None = None) -> int | None:
        """Return the 127.0.0.1 port a container port is published on."""
        for run in self.containers:
            if run.spec and run.spec.host_port and container_port in (None, run.port):
                return run.spec.host_port
        return None


# ---------------------------------------------------------------- moto, hooked


_ACTIVE: list[TaskRunner] = []
_INSTALLED = threading.Lock()
_installed = False


def install_moto_extensions() -> None:
    """Hook moto's ECS backend so a running TaskRunner drives its tasks (once per process)."""
    global _installed
    with _INSTALLED:
        if _installed:
            return
        # moto sets private_dns_name only in a VPC with DNS hostnames on; RunTask in awsvpc
        # mode reads it for every task, and failed with a 500 in any other VPC.
        if not hasattr(NetworkInterface, "private_dns_name"):
            NetworkInterface.private_dns_name = None

        requirements = Ecs._calculate_task_resource_requirements

        def resource_requirements(task_definition: Any) -> dict[str, Any]:
            # A Fargate container may leave memory to the task; moto added None and failed.
            fixed = copy.copy(task_definition)
            fixed.container_definitions = [
                {**c, "memory": c.get("memory") or c.get("memoryReservation") or 0}
                for c in task_definition.container_definitions
            ]
            return requirements(fixed)

        Ecs._calculate_task_resource_requirements = staticmethod(resource_requirements)

        run_task, start_task, stop_task = Ecs.run_task, Ecs.start_task, Ecs.stop_task

        def run_task_hook(self: Any, *args: Any, **kwargs: Any) -> list:
            tasks = run_task(self, *args, **kwargs)
            if _ACTIVE:
                _ACTIVE[0].adopt(self, tasks)
            return tasks

        def start_task_hook(self: Any, *args: Any, **kwargs: Any) -> list:
            tasks = start_task(self, *args, **kwargs)
            if _ACTIVE:
                _ACTIVE[0].adopt(self, tasks)
            return tasks

        def stop_task_hook(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
            for runner in list(_ACTIVE):
                task = runner.user_stop(self, task_str, reason)
                if task is not None:
                    return task
            return stop_task(self, cluster_str, task_str, reason)

        Ecs.run_task, Ecs.start_task, Ecs.stop_task = run_task_hook, start_task_hook, stop_task_hook
        _installed = True


def _ecs_backends() -> list[tuple[str, str, Any]]:
    """Return (account, region, backend) for every ECS backend moto holds, creating none."""
    found = []
    for account, regions in list(dict.items(ecs_backends)):
        for region, backend in list(dict.items(regions)):
            found.append((account, region, backend))
    return found


# ---------------------------------------------------------------- the agent


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
    ) -> None:
        self.engine = engine or make_engine(
            mode, service_repository=names.repository, registry=registry
        )
        self.clock = clock
        self.poll_s = poll_s
        # Called in DEACTIVATING with the task ARN (the ALB's deregistration and drain).
        self.deactivate = deactivate
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
        _ACTIVE.append(self)
        self._watcher = threading.Thread(target=self._watch, name="ecs-agent", daemon=True)
        self._watcher.start()
        return self

    def stop(self) -> None:
        """Stop every task this runner started, then the watcher; leave nothing running."""
        if self in _ACTIVE:
            _ACTIVE.remove(self)
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
        for _account, _region, backend in _ecs_backends():
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
        environments = []
        for run in rec.containers:
            env = {e["name"]: e["value"] for e in run.definition.get("environment") or []}
            try:
                for secret in run.definition.get("secrets") or []:
                    env[secret["name"]] = resolve_secret(
                        secret["valueFrom"], rec.account, rec.region
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
            images.append((image, local))
        rec.task.pull_stopped_at = _now()
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
        if port is not None:
            run.model.network_bindings = [
                {
                    "bindIP": "127.0.0.1",
                    "containerPort": port,
                    "hostPort": run.spec.host_port,
                    "protocol": "tcp",
                }
            ]
        if run.definition.get("healthCheck"):
            check = HealthCheck.from_definition(run.definition["healthCheck"])
            run.health = HealthMonitor(
                check, run.running, lambda s: self._health_changed(rec, run, s), self.clock
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
            if run.running is not None:
                with contextlib.suppress(Exception):
                    run.running.remove()
