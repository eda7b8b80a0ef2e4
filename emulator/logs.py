"""The awslogs log driver of the local data plane: container output into CloudWatch Logs.

`LogShipper` is a data-plane `Part` beside the task runner (emulator/tasks.py). For each
container whose task definition says `logConfiguration.logDriver: awslogs`, it tails what the
container writes to stdout and stderr and puts every line as one log event, timestamped when
the line was read, into moto's CloudWatch Logs: group `awslogs-group`, stream
`awslogs-stream-prefix/container-name/task-id` (the name AWS gives a Fargate task's stream).

It writes moto's in-process Logs model (`logs_backends[account][region]`), not boto3 through
the embedded server: the data plane already lives in moto's process and reads and writes its
models directly (emulator/dataplane.py); the awslogs driver acts with the task execution
role, not the learner's credentials, so a learner's IAM enforcement drill must not refuse it;
and no HTTP request is made per line.

What AWS does, and this models (Amazon ECS developer guide, "Using the awslogs log driver",
and the CloudWatch Logs PutLogEvents reference):
- the stream is made when the container is created, in a group that must exist, unless the
  option `awslogs-create-group` is "true": then the group is created too, which the
  execution role must be allowed (`logs:CreateLogGroup`). Otherwise the task stops with
  `ResourceInitializationError` (`MISSING_GROUP`, `CREATE_DENIED` below). The task runner
  calls `prepare` as it creates the containers, after the image pull; the shipper only reads;
- `awslogs-stream-prefix` is required on Fargate;
- an event's message is 1 to 262,118 bytes (256 KiB less 26 bytes of overhead): empty lines
  are not sent and a longer line is split, as Docker's awslogs driver splits it;
- a PutLogEvents batch holds at most 10,000 events, in time order.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.ecs.models import ecs_backends
from moto.logs.models import logs_backends

from emulator.task_inputs import DENIED, role_allows, session_arn

log = logging.getLogger(__name__)

DRIVER = "awslogs"
MAX_EVENT_BYTES = 262_144 - 26  # a PutLogEvents message, less the 26 bytes AWS counts per event
MAX_BATCH = 10_000  # events in one PutLogEvents call
POLL_SECONDS = 0.2  # real seconds between reads of each container's output
# What Fargate reports when the awslogs driver cannot make its stream (group missing and
# awslogs-create-group not "true"); the task runner stops the task with it.
MISSING_GROUP = (
    "ResourceInitializationError: failed to validate logger args: create stream has been "
    "retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: "
    "The specified log group does not exist. : exit status 1"
)
# What Fargate reports when the group is missing, `awslogs-create-group` is "true" and the
# execution role may not create it: the agent calls CreateLogGroup as that role. The driver's
# prefix as above, then IAM's denial (emulator.task_inputs.DENIED); the join is the emulator's.
CREATE_DENIED = (
    "ResourceInitializationError: failed to validate logger args: create stream has been "
    "retried 1 times: failed to create Cloudwatch log group: {denied} : exit status 1"
)
CREATE_GROUP = "logs:CreateLogGroup"
# The emulator's wording (AWS documents the option as required on Fargate, not the message).
NO_PREFIX = (
    "ResourceInitializationError: failed to validate logger args: awslogs-stream-prefix "
    "is required for the awslogs log driver on Fargate (container {container})"
)


class LoggerError(Exception):
    """The awslogs driver cannot start for a container; the message is ECS's stopped reason."""


@dataclass(frozen=True)
class Destination:
    """Where one container's lines go: account, region, group and stream."""

    account: str
    region: str
    group: str
    stream: str


def destination(
    definition: dict, task_arn: str, region: str, launch_type: str = "FARGATE"
) -> Destination | None:
    """Return where a container definition's awslogs output goes (None: another driver)."""
    config = definition.get("logConfiguration") or {}
    if config.get("logDriver") != DRIVER:
        return None
    options = config.get("options") or {}
    group = options.get("awslogs-group")
    if not group:
        raise LoggerError(
            "ResourceInitializationError: failed to validate logger args: "
            f"awslogs-group is required (container {definition.get('name')})"
        )
    prefix = options.get("awslogs-stream-prefix")
    task_id = task_arn.rsplit("/", 1)[-1]
    name = definition.get("name") or "container"
    if not prefix:
        if launch_type == "FARGATE":
            raise LoggerError(NO_PREFIX.format(container=name))
        stream = task_id  # EC2 names the stream after the container; a task has no other id
    else:
        stream = f"{prefix}/{name}/{task_id}"
    account = task_arn.split(":")[4]
    return Destination(account, options.get("awslogs-region") or region, group, stream)


def prepare(definition: dict, where: Destination, execution_role: str | None = None) -> None:
    """Make the log stream as the driver does at container start; raise LoggerError if it cannot.

    A missing group is created only with `awslogs-create-group: "true"` and, when the
    execution role is held in the emulated IAM, only if that role may `logs:CreateLogGroup`.
    """
    options = (definition.get("logConfiguration") or {}).get("options") or {}
    backend = logs_backends[where.account][where.region]
    if where.group not in backend.groups:
        if str(options.get("awslogs-create-group", "")).lower() != "true":
            raise LoggerError(MISSING_GROUP)
        arn = f"arn:aws:logs:{where.region}:{where.account}:log-group:{where.group}"
        if role_allows(execution_role, CREATE_GROUP, arn) is False:
            task_id = where.stream.rsplit("/", 1)[-1]
            session = session_arn(execution_role, task_id)
            denied = DENIED.format(session=session, action=CREATE_GROUP, arn=arn)
            raise LoggerError(CREATE_DENIED.format(denied=denied))
        backend.create_log_group(where.group, {})
    backend.ensure_log_stream(where.group, where.stream)


def events(lines: list[str], at_ms: int) -> list[dict]:
    """Return PutLogEvents events for lines read at `at_ms`: no empty ones, none too long."""
    out = []
    for line in lines:
        data = line.encode("utf-8", "replace")
        for start in range(0, len(data), MAX_EVENT_BYTES):
            piece = data[start : start + MAX_EVENT_BYTES].decode("utf-8", "ignore")
            if piece:
                out.append({"timestamp": at_ms, "message": piece})
    return out


@dataclass
class Tail:
    """One container's output file, read from where the last read ended."""

    task_arn: str
    container: str
    where: Destination
    path: Path | None = None
    offset: int = 0
    partial: bytes = b""
    follower: subprocess.Popen | None = None  # `podman logs --follow` in an engine mode
    shipped: int = 0

    def read(self, final: bool = False) -> list[str]:
        """Return the complete lines written since the last read (and the rest when final)."""
        if self.path is None or not self.path.exists():
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        data = self.partial + data
        *lines, self.partial = data.split(b"\n")
        if final and self.partial:
            lines, self.partial = [*lines, self.partial], b""
        return [raw.rstrip(b"\r").decode("utf-8", "replace") for raw in lines]


class LogShipper:
    """Ship the output of every awslogs container the task runner runs to CloudWatch Logs."""

    def __init__(self, runner: Any, *, poll_s: float = POLL_SECONDS) -> None:
        self.runner = runner  # emulator.tasks.TaskRunner
        self.poll_s = poll_s
        self._tails: dict[str, list[Tail]] = {}
        self._region = "us-east-1"
        # Never held while calling the runner: the runner calls listeners holding its own lock.
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._root: Path | None = None
        self._listening = False

    def start(self, plane: Any = None) -> LogShipper:
        """Listen to the runner and start reading; `plane` (a DataPlane) gives the region."""
        if plane is not None:
            self._region = plane.region
        self._stopping.clear()
        if not self._listening:
            self.runner.add_listener(self._on_event)
            self._listening = True
        for arn in self.runner.task_arns(running_only=True):  # tasks started before this part
            self._attach(arn)
            self._locate(arn, self.runner.mode)
        self._thread = threading.Thread(target=self._poll, name="ecs-awslogs", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ship what is left of every container's output, then stop reading (idempotent)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        with self._lock:
            arns = list(self._tails)
        for arn in arns:
            self._finish(arn)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    # ------------------------------------------------------------ the runner's events

    def _on_event(self, event: Any) -> None:
        if self._stopping.is_set():
            return
        if event.last_status == "PENDING":
            self._attach(event.task_arn)
        elif event.last_status == "RUNNING":
            self._locate(event.task_arn, event.mode)
        elif event.last_status in ("DEPROVISIONING", "STOPPED"):
            # DEPROVISIONING comes before the runner removes the containers: the last read.
            self._finish(event.task_arn)

    def _attach(self, task_arn: str) -> None:
        with self._lock:
            if task_arn in self._tails:
                return
            self._tails[task_arn] = []
        task = _task(task_arn)
        if task is None:
            return
        account, region = task_arn.split(":")[4], task_arn.split(":")[3]
        task_definition = ecs_backends[account][region].describe_task_definition(
            task.task_definition_arn
        )
        tails = []
        for container in task_definition.container_definitions:
            # The runner made the stream (emulator.logs.prepare) or stopped the task saying why.
            with contextlib.suppress(LoggerError):
                where = destination(
                    container, task_arn, self._region, task.launch_type or "FARGATE"
                )
                if where is not None:
                    tails.append(Tail(task_arn, container.get("name") or "container", where))
        with self._lock:
            if task_arn in self._tails:
                self._tails[task_arn] = tails

    def _locate(self, task_arn: str, mode: str) -> None:
        with self._lock:
            waiting = [t for t in self._tails.get(task_arn, []) if t.path is None]
        for tail in waiting:
            if mode == "process":
                path, follower = self.runner.log_path(task_arn, tail.container), None
            else:
                path, follower = self._follow(task_arn, tail.container, mode)
            with self._lock:
                tail.path, tail.follower = path, follower

    def _follow(self, task_arn: str, container: str, mode: str) -> tuple[Path | None, Any]:
        # podman and docker keep the output themselves: `<cli> logs --follow` copies it to a
        # file this shipper tails like a process's.
        task = _task(task_arn)
        model = next((c for c in task.containers if c.name == container), None) if task else None
        runtime = getattr(model, "runtime_id", "") or ""
        if self._stopping.is_set() or not runtime.startswith(f"{mode}:"):
            return None, None
        if self._root is None:  # only the engine modes need a directory of their own
            self._root = Path(tempfile.mkdtemp(prefix="ecs-awslogs-"))
        path = self._root / f"{task_arn.rsplit('/', 1)[-1]}-{container}.log"
        with open(path, "ab") as out:
            follower = subprocess.Popen(
                [mode, "logs", "--follow", runtime.split(":", 1)[1]],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        return path, follower

    def _finish(self, task_arn: str) -> None:
        with self._lock:
            tails = self._tails.pop(task_arn, [])
        for tail in tails:
            if tail.follower is not None:
                try:
                    tail.follower.wait(5)  # ends when the container has exited
                except subprocess.TimeoutExpired:
                    tail.follower.terminate()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        tail.follower.wait(5)
            with self._lock:
                self._ship(tail, final=True)

    # ------------------------------------------------------------ reading and putting

    def _poll(self) -> None:
        while not self._stopping.wait(self.poll_s):
            with self._lock:
                tails = [t for ts in self._tails.values() for t in ts]
                for tail in tails:
                    try:
                        self._ship(tail)
                    except Exception:  # keep shipping the others
                        log.exception("awslogs: shipping %s failed", tail.where.stream)

    def _ship(self, tail: Tail, final: bool = False) -> None:
        lines = tail.read(final)
        batch = events(lines, int(time.time() * 1000))
        if not batch:
            return
        backend = logs_backends[tail.where.account][tail.where.region]
        try:
            backend.ensure_log_stream(tail.where.group, tail.where.stream)
            for start in range(0, len(batch), MAX_BATCH):
                backend.put_log_events(
                    tail.where.group, tail.where.stream, batch[start : start + MAX_BATCH]
                )
        except Exception as exc:  # the group was deleted meanwhile (teardown, a reset)
            log.warning("awslogs: %s lost %d line(s): %s", tail.where.stream, len(batch), exc)
            return
        tail.shipped += len(batch)


def _task(task_arn: str) -> Any | None:
    """Return moto's model of a task by its ARN (None: not held)."""
    parts = task_arn.split(":")
    if len(parts) < 6:
        return None
    backend = ecs_backends[parts[4]][parts[3]]
    for tasks in list(backend.tasks.values()):
        if task_arn in tasks:
            return tasks[task_arn]
    return None
