"""What the ECS agent keeps per task: its containers, its record, and the events it sends."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emulator.container_health import HealthMonitor
from emulator.engine import ContainerSpec, Running
from emulator.task_firewall import Firewall


def now() -> datetime:
    """Return the time ECS would stamp on a task field (UTC)."""
    return datetime.now(UTC)


@dataclass
class ContainerRun:
    """One container of a task: its definition, moto's model of it, and what runs."""

    definition: dict
    model: Any  # moto.ecs.models.Container
    spec: ContainerSpec | None = None
    running: Running | None = None
    health: HealthMonitor | None = None
    exit_code: int | None = None
    firewall: Firewall | None = None  # in front of the port while security groups are enforced

    @property
    def published(self) -> int | None:
        """Return the 127.0.0.1 port the ALB reaches this container on (its ENI's stand-in)."""
        if self.firewall is not None:
            return self.firewall.port
        return self.spec.host_port if self.spec else None

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
            self.task.stopping_at = now()
            self.stop_requested.set()

    def host_port(self, container_port: int | None = None) -> int | None:
        """Return the 127.0.0.1 port a container port is published on."""
        for run in self.containers:
            if run.spec and run.spec.host_port and container_port in (None, run.port):
                return run.published
        return None
