"""The checkpoints of the walk-through: what a step made, checked by the plan, then described.

Each check first plans its own step (`deploy.stack.plan`, so every field the package manages is
compared in one place): a resource the plan would create is missing, a field it would update is
wrong. It then describes the step's resources with their modules' own `describe` (so it runs on
every backend) and returns one line per fact it saw, adding only what a plan cannot see (a
load balancer's state, the secret's current version, the service's deployment).
"""

from __future__ import annotations

from collections.abc import Callable

from deploy import stack
from deploy.aws.errors import ResourceError
from deploy.aws.names import StackNames
from deploy.resources import (
    alb,
    autoscaling,
    budget,
    ecr,
    ecs,
    iam,
    logs,
    network,
    secrets,
    state,
)
from service.aws import AwsContext

MANAGED_EXECUTION_POLICY = "AmazonECSTaskExecutionRolePolicy"


class CheckpointFailed(ResourceError):
    """A step's checkpoint did not find what the step should have made (the message says what)."""


def _require(name: str, problems: list[str]) -> None:
    if problems:
        raise CheckpointFailed(f"checkpoint {name!r} failed: " + "; ".join(problems))


def _field(kind: str, name: str, key: str, pair: object) -> str:
    if isinstance(pair, tuple) and len(pair) == 2:
        return f"{kind} {name}: {key} is {pair[0]!r}, not {pair[1]!r}"
    return f"{kind} {name}: {key} {pair!r}"  # e.g. revoke [('tcp', 8080, 8080, '0.0.0.0/0')]


def drift(
    ctx: AwsContext, names: StackNames, step: str, options: dict[str, dict] | None = None
) -> list[str]:
    """Return what step `step`'s plan would change: missing resources, then wrong fields."""
    own = stack.plan(ctx, names, target=step, options=options).by_step[step]
    missing = [f"{c.kind} {c.name}" for c in own if c.action == "create"]
    if missing:
        return [f"{', '.join(missing)} not found (apply step {step!r} first)"]
    return [
        _field(c.kind, c.name, key, pair)
        for c in own
        if c.action in ("update", "delete")
        for key, pair in (c.detail.items() or {"resource": c.action}.items())
    ]


def _check_budget(ctx: AwsContext, names: StackNames) -> list[str]:
    found = budget.describe(ctx, names)
    return [f"budget {names.budget}: limit ${found['limit_usd']:g}/month"]


def _check_secrets(ctx: AwsContext, names: StackNames) -> list[str]:
    found = secrets.describe(ctx, names)
    current = [v for v, stages in found["versions"].items() if "AWSCURRENT" in stages]
    _require("secrets", [] if current else [f"secret {names.secret} has no AWSCURRENT version"])
    return [f"secret {found['arn']}: keys {', '.join(found['keys'])} (values not shown)"]


def _check_iam(ctx: AwsContext, names: StackNames) -> list[str]:
    found = iam.describe(ctx, names)
    return [
        f"role {names.execution_role}: trusts ecs-tasks.amazonaws.com, "
        f"{MANAGED_EXECUTION_POLICY} attached, reads the secret by its exact ARN",
        f"role {names.task_role}: {found['task_role']['arn']}",
    ]


def _check_ecr(ctx: AwsContext, names: StackNames) -> list[str]:
    found = ecr.describe(ctx, names)
    return [f"repository {found['uri']}: IMMUTABLE, scan on push, {found['images']} image(s)"]


def _check_logs(ctx: AwsContext, names: StackNames) -> list[str]:
    found = logs.describe(ctx, names)
    days = found["retention_days"]
    return [f"log group {names.log_group}: kept {days} days, {found['streams']} stream(s)"]


def _check_network(ctx: AwsContext, names: StackNames) -> list[str]:
    found = network.describe(ctx, names)
    return [
        f"{names.task_security_group}: admits {names.container_port} from "
        f"{names.alb_security_group} only",
        f"subnets: {', '.join(found['subnets'])} in {found['vpc']}",
    ]


def _check_alb(ctx: AwsContext, names: StackNames) -> list[str]:
    found = alb.describe(ctx, names)
    lb, tg = found["load_balancer"], found["target_group"]
    active = lb["state"] in ("provisioning", "active")
    _require("alb", [] if active else [f"load balancer {names.alb} is {lb['state']}"])
    return [
        f"load balancer {lb['dns_name']}: {lb['state']} in {', '.join(lb['zones'])}",
        f"target group {names.target_group}: checks {tg['HealthCheckPath']} every "
        f"{tg['HealthCheckIntervalSeconds']} s, {tg['targets']} target(s)",
    ]


def _check_state(ctx: AwsContext, names: StackNames) -> list[str]:
    found = state.describe(ctx, names)
    return [
        f"bucket {found['bucket']['name']}: public access blocked",
        f"table {found['table']['name']}: {found['table']['billing']}",
    ]


def _check_ecs(ctx: AwsContext, names: StackNames) -> list[str]:
    found = ecs.describe(ctx, names)
    service, td = found["service"], found["task_definition"]
    active = service is not None and service["status"] == "ACTIVE"
    _require("ecs", [] if active else [f"{ecs.what(names)} is not ACTIVE"])
    rollout = [d["rolloutState"] for d in service["deployments"] if d["status"] == "PRIMARY"]
    return [
        f"service {names.service}: ACTIVE, running {service['running']} of "
        f"{service['desired']}, deployment {', '.join(map(str, rollout)) or '-'}",
        f"task definition {names.family}:{td['revision']}: {td['image']}",
    ]


def _check_autoscaling(ctx: AwsContext, names: StackNames) -> list[str]:
    found = autoscaling.describe(ctx, names)
    target = found["target"]
    return [
        f"scalable target {found['resource_id']}: {target['min']} to {target['max']} tasks",
        f"policies: {', '.join(sorted(found['policies']))}",
    ]


DESCRIBE: dict[str, Callable[[AwsContext, StackNames], list[str]]] = {
    "budget": _check_budget,
    "secrets": _check_secrets,
    "iam": _check_iam,
    "ecr": _check_ecr,
    "logs": _check_logs,
    "network": _check_network,
    "alb": _check_alb,
    "state": _check_state,
    "ecs": _check_ecs,
    "autoscaling": _check_autoscaling,
}


def check(
    ctx: AwsContext, names: StackNames, step: str, options: dict[str, dict] | None = None
) -> list[str]:
    """Plan step `step` (raise CheckpointFailed naming any drift), then describe what it made."""
    _require(step, drift(ctx, names, step, options))
    return DESCRIBE[step](ctx, names)
