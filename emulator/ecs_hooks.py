"""moto's ECS backend, hooked so a running local data plane drives its tasks.

`install_moto_extensions()` (once per process) makes RunTask and StartTask hand each new task
to the active `TaskRunner` (emulator.tasks) and StopTask ask it to stop a task it drives, and
makes RegisterTaskDefinition refuse a Fargate cpu/memory pair Fargate has no size for (moto
registers any) and RunTask in awsvpc mode without `securityGroups` use the VPC's default group,
as ECS does (moto failed with a 500); CreateService without `securityGroups` is accepted and
stored as sent (its tasks get the default group through RunTask); it also adds IAM's SimulatePrincipalPolicy for roles
(emulator.iam_simulate). emulator.moto_server installs them in every moto server it starts.
localstack/README.md lists every extension.
"""

from __future__ import annotations

import copy
import inspect
import threading
from typing import TYPE_CHECKING, Any

from moto.ec2.exceptions import InvalidSubnetIdError
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ecs.exceptions import EcsClientException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend as Ecs
from moto.ecs.models import Service, ecs_backends

if TYPE_CHECKING:
    from emulator.tasks import TaskRunner

ACTIVE: list[TaskRunner] = []
# RegisterTaskDefinition's ClientException for a FARGATE size outside Fargate's table; the
# sizes are AWS's ("Amazon ECS task definition parameters for Fargate", task size), the
# sentence is the one AWS returns, as learners report it (AWS documents no exact wording).
NO_FARGATE_SIZE = (
    "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
    "See the Amazon ECS documentation for the valid values."
)
_INSTALLED = threading.Lock()
_installed = False


def _units(value: Any, unit: str, per_unit: int) -> int | None:
    """Read a task size as AWS accepts it: 1024, "1024", "1 vCPU", "2 GB" (None: unreadable)."""
    text = str(value).strip().lower().replace(" ", "")
    try:
        if text.endswith(unit):
            return round(float(text.removesuffix(unit)) * per_unit)
        return int(text)
    except ValueError:
        return None


def check_fargate_size(compatibilities: list[str] | None, cpu: Any, memory: Any) -> None:
    """Raise AWS's ClientException for a FARGATE task size with no Fargate configuration."""
    from deploy.resources.taskdef import TaskDefinitionError, validate_size

    if "FARGATE" not in (compatibilities or []) or cpu is None or memory is None:
        return
    units, mib = _units(cpu, "vcpu", 1024), _units(memory, "gb", 1024)
    try:
        validate_size(units, mib)
    except TaskDefinitionError:
        raise EcsClientException(NO_FARGATE_SIZE.format(cpu=cpu, memory=memory)) from None


def with_default_security_group(
    account_id: str, region: str, network: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Return an awsvpc configuration naming no security group with its VPC's default group."""
    config = (network or {}).get("awsvpcConfiguration")
    if not config or config.get("securityGroups") or not config.get("subnets"):
        return network
    ec2 = ec2_backends[account_id][region]
    subnet_id = config["subnets"][0]
    try:
        vpc_id = ec2.get_subnet(subnet_id).vpc_id
    except InvalidSubnetIdError as exc:  # ECS's own wording for a subnet it cannot find
        raise InvalidParameterException(
            f"Error retrieving subnet information for [{subnet_id}]: {exc.message} "
            f"(ErrorCode: {exc.code})"
        ) from None
    group = ec2.get_default_security_group(vpc_id)
    if group is None:  # a VPC always has one; deleting it is refused
        raise InvalidParameterException(f"VPC {vpc_id} has no default security group.")
    return {**network, "awsvpcConfiguration": {**config, "securityGroups": [group.id]}}


def install_moto_extensions() -> None:
    """Hook moto's ECS backend for the data plane and Fargate's sizes (once per process)."""
    global _installed
    with _INSTALLED:
        if _installed:
            return
        from emulator import iam_simulate  # imports moto's IAM responses: only when hooked

        iam_simulate.install()
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
        register = Ecs.register_task_definition
        run_signature = inspect.signature(run_task)

        def register_hook(self: Any, *args: Any, **kwargs: Any) -> Any:
            # moto's response handler passes these by keyword.
            check_fargate_size(
                kwargs.get("requires_compatibilities"), kwargs.get("cpu"), kwargs.get("memory")
            )
            return register(self, *args, **kwargs)

        Ecs.register_task_definition = register_hook

        def run_task_hook(self: Any, *args: Any, **kwargs: Any) -> list:
            # ECS gives an awsvpc task without security groups its VPC's default group;
            # moto read `securityGroups` unconditionally (a KeyError, so a 500).
            call = run_signature.bind(self, *args, **kwargs)
            network = call.arguments.get("networking_configuration")
            call.arguments["networking_configuration"] = with_default_security_group(
                self.account_id, self.region_name, network
            )
            tasks = run_task(*call.args, **call.kwargs)
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
        validate_network = Service._validate_network

        def validate_network_hook(self: Any, network: dict[str, Any]) -> dict[str, Any]:
            # CreateService without securityGroups: check it as ECS would run its tasks (in
            # the VPC's default group; moto read `securityGroups` unconditionally, a 500), and
            # keep the configuration as the caller sent it.
            filled = with_default_security_group(self._account_id, self.region_name, network)
            validate_network(self, filled)
            return network

        Service._validate_network = validate_network_hook
        _installed = True


def all_ecs_backends() -> list[tuple[str, str, Any]]:
    """Return (account, region, backend) for every ECS backend moto holds, creating none."""
    found = []
    for account, regions in list(dict.items(ecs_backends)):
        for region, backend in list(dict.items(regions)):
            found.append((account, region, backend))
    return found
