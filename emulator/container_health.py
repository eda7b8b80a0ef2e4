"""A container's task-definition healthCheck, and the monitor that runs it on its schedule."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from emulator.clock import Clock
from emulator.engine import Running

# ECS's defaults for a container health check (task definition parameters reference).
HEALTH_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0}


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
        path: str | None = None,
    ) -> None:
        self.check = check
        self.path = path  # PATH the check runs with (None: the container's own)
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
        if self.path is not None:
            argv = ["/usr/bin/env", f"PATH={self.path}", *argv]
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
