"""moto's ECS services, as the local scheduler needs them: deployments, events, hooks.

moto 5.2.5's CreateService drops `deploymentConfiguration` and
`healthCheckGracePeriodSeconds`, and its UpdateService renames the PRIMARY deployment and sets
runningCount to the desired count. While a scheduler runs (emulator.scheduler), the hooks here
keep those settings, start each service with nothing running, and make a new PRIMARY
deployment when UpdateService asks for one, as ECS does. DescribeServices reads a service
between two scheduler passes, never halfway through one (a task's failure counted, its
replacement not yet). localstack/README.md lists them.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from moto.ecs.models import EC2ContainerServiceBackend as Ecs
from moto.ecs.responses import EC2ContainerServiceResponse as EcsResponse


class Locked(Protocol):
    """A running scheduler: the hooks change a service only under its lock."""

    lock: Any


ACTIVE_SCHEDULERS: list[Locked] = []  # the running schedulers (one per data plane)
_INSTALLED = threading.Lock()
_installed = False


def now() -> datetime:
    return datetime.now(UTC)


def short_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def _deployment_id() -> str:
    return f"ecs-svc/{uuid.uuid4().int % 10**19:019d}"


def add_event(service: Any, message: str) -> None:
    """Put a service event first (describe-services lists them newest first)."""
    service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": now(), "message": message})
    del service.events[100:]


def new_deployment(service: Any, task_definition: str, reason: str | None = None) -> dict:
    """Make a PRIMARY deployment of `task_definition`; earlier ones turn ACTIVE."""
    for old in service.deployments:
        old["status"] = "ACTIVE"
        old["updatedAt"] = now()
    first = service.deployments[0] if service.deployments else {}
    deployment_id = _deployment_id()
    deployment = {
        **{k: first.get(k) for k in ("launchType", "platformVersion", "platformFamily")},
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now(),
        "updatedAt": now(),
        "networkConfiguration": service.network_configuration or None,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": reason or f"ECS deployment {deployment_id} in progress.",
    }
    service.deployments.insert(0, deployment)
    service.task_definition = task_definition
    return deployment


# ---------------------------------------------------------------- moto, hooked


def install_service_extensions() -> None:
    """Hook moto's Create/Update/DescribeServices for a running scheduler (once per process)."""
    global _installed
    with _INSTALLED:
        if _installed:
            return
        create_response, update = EcsResponse.create_service, Ecs.update_service
        describe = EcsResponse.describe_services

        def create_service_hook(self: Any) -> Any:
            if not ACTIVE_SCHEDULERS:
                return create_response(self)
            with ACTIVE_SCHEDULERS[0].lock:
                result = create_response(self)
                _created(self)
                return result

        def update_service_hook(self: Any, properties: dict[str, Any]) -> Any:
            if not ACTIVE_SCHEDULERS:
                return update(self, properties)
            with ACTIVE_SCHEDULERS[0].lock:
                return _updated(self, properties, update)

        def describe_services_hook(self: Any) -> Any:
            if not ACTIVE_SCHEDULERS:
                return describe(self)
            with ACTIVE_SCHEDULERS[0].lock:
                return describe(self)

        EcsResponse.create_service = create_service_hook
        EcsResponse.describe_services = describe_services_hook
        Ecs.update_service = update_service_hook
        _installed = True


def _created(response: Any) -> None:
    """Keep what CreateService asked that moto's backend drops; start from nothing running."""
    service = response.ecs_backend._get_service(
        response._get_param("cluster", "default"), response._get_param("serviceName")
    )
    for param, attr in (
        ("deploymentConfiguration", "deployment_configuration"),
        ("healthCheckGracePeriodSeconds", "health_check_grace_period_seconds"),
    ):
        if response._get_param(param) is not None:
            setattr(service, attr, response._get_param(param))
    reset_counts(service)


def _updated(backend: Any, properties: dict[str, Any], update: Any) -> Any:
    """Run moto's UpdateService, then start a new deployment as ECS does when one is due."""
    cluster = properties.get("cluster", "default")
    service = backend._get_service(cluster, properties["service"].split("/")[-1])
    before = ([dict(d) for d in service.deployments], service.running_count)
    force = bool(properties.get("force_new_deployment"))
    asked = properties.get("task_definition")
    result = update(backend, properties)
    # moto renames the PRIMARY deployment on force and sets runningCount to the desired
    # count; the scheduler keeps the real ones.
    service.deployments, service.running_count = before
    primary = service.deployments[0] if service.deployments else {}
    current = primary.get("taskDefinition") or service.task_definition
    wanted = backend.describe_task_definition(asked).arn if asked else current
    if force or wanted != current:
        new_deployment(service, wanted)
    else:
        service.task_definition = current
    return result


def reset_counts(service: Any) -> None:
    """Start a new service as ECS does: nothing running yet, its deployment IN_PROGRESS."""
    service.running_count = service.pending_count = 0
    for d in service.deployments:
        d.update(
            runningCount=0,
            pendingCount=0,
            failedTasks=0,
            rolloutState="IN_PROGRESS",
            rolloutStateReason=f"ECS deployment {d['id']} in progress.",
        )
