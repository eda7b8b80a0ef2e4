"""moto's ECS backend, hooked so a running local data plane drives its tasks.

`install_moto_extensions()` (once per process) makes RunTask and StartTask hand each new task
to the active `TaskRunner` (emulator.tasks) and StopTask ask it to stop a task it drives;
localstack/README.md lists every extension.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ecs.models import EC2ContainerServiceBackend as Ecs
from moto.ecs.models import ecs_backends

if TYPE_CHECKING:
    from emulator.tasks import TaskRunner

ACTIVE: list[TaskRunner] = []
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
            if ACTIVE:
                ACTIVE[0].adopt(self, tasks)
            return tasks

        def start_task_hook(self: Any, *args: Any, **kwargs: Any) -> list:
            tasks = start_task(self, *args, **kwargs)
            if ACTIVE:
                ACTIVE[0].adopt(self, tasks)
            return tasks

        def stop_task_hook(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
            for runner in list(ACTIVE):
                task = runner.user_stop(self, task_str, reason)
                if task is not None:
                    return task
            return stop_task(self, cluster_str, task_str, reason)

        Ecs.run_task, Ecs.start_task, Ecs.stop_task = run_task_hook, start_task_hook, stop_task_hook
        _installed = True


def all_ecs_backends() -> list[tuple[str, str, Any]]:
    """Return (account, region, backend) for every ECS backend moto holds, creating none."""
    found = []
    for account, regions in list(dict.items(ecs_backends)):
        for region, backend in list(dict.items(regions)):
            found.append((account, region, backend))
    return found
