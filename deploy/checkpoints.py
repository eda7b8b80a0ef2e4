"""The checkpoints of the walk-through: describe what a step made and say what is wrong.

Each check takes (ctx, names), describes its resource with the resource module's own
`describe` (so it runs on every backend), and returns one line per fact it verified, or
raises CheckpointFailed naming what is missing or misconfigured and the step to apply.
"""

from __future__ import annotations

from collections.abc import Callable

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


def _check_budget(ctx: AwsContext, names: StackNames) -> list[str]:
    found = budget.describe(ctx, names)
    if not found["exists"]:
        _require("budget", [f"budget {names.budget} not found (apply step 'budget' first)"])
    _require("budget", [] if found["limit_usd"] > 0 else ["the budget has no positive limit"])
    return [f"budget {names.budget}: limit ${found['limit_usd']:g}/month"]


def _check_secrets(ctx: AwsContext, names: StackNames) -> list[str]:
    found = secrets.describe(ctx, names)
    if not found["exists"]:
        _require("secrets", [f"secret {names.secret} not found (apply step 'secrets' first)"])
    missing = sorted(set(secrets.SECRET_KEYS) - set(found["keys"]))
    _require("secrets", [f"secret {names.secret} lacks key(s) {missing}"] if missing else [])
    current = [v for v, stages in found["versions"].items() if "AWSCURRENT" in stages]
    _require("secrets", [] if current else [f"secret {names.secret} has no AWSCURRENT version"])
    return [f"secret {found['arn']}: keys {', '.join(found['keys'])} (values not shown)"]


def _check_iam(ctx: AwsContext, names: StackNames) -> list[str]:
    found = iam.describe(ctx, names)
    role = found["execution_role"]
    if role is None:
        _require(
            "iam", [f"execution role {names.execution_role} not found (apply step 'iam' first)"]
        )
    problems = []
    principals = [s.get("Principal", {}).get("Service") for s in role["trust"]["Statement"]]
    if "ecs-tasks.amazonaws.com" not in principals:
        problems.append(f"{names.execution_role} does not trust ecs-tasks.amazonaws.com")
    if not any(arn.endswith("/" + MANAGED_EXECUTION_POLICY) for arn in role["managed"]):
        problems.append(f"{names.execution_role} lacks {MANAGED_EXECUTION_POLICY}")
    secret = secrets.describe(ctx, names)
    if secret["exists"] and secret["arn"] not in str(role["inline"]):
        problems.append(f"{names.execution_role}'s policy does not name the secret's ARN")
    if found["task_role"] is None:
        problems.append(f"task role {names.task_role} not found")
    _require("iam", problems)
    return [
        f"role {names.execution_role}: trusts ecs-tasks.amazonaws.com, "
        f"{MANAGED_EXECUTION_POLICY} attached, reads the secret by its exact ARN",
        f"role {names.task_role}: {found['task_role']['arn']}",
    ]


def _check_ecr(ctx: AwsContext, names: StackNames) -> list[str]:
    found = ecr.describe(ctx, names)
    if not found["exists"]:
        _require("ecr", [f"repository {names.repository} not found (apply step 'ecr' first)"])
    problems = [] if found["tag_mutability"] == "IMMUTABLE" else ["tags are MUTABLE"]
    problems += [] if found["scan_on_push"] else ["scan on push is off"]
    _require("ecr", [f"repository {names.repository}: {p}" for p in problems])
    return [f"repository {found['uri']}: IMMUTABLE, scan on push, {found['images']} image(s)"]


def _check_logs(ctx: AwsContext, names: StackNames) -> list[str]:
    found = logs.describe(ctx, names)
    if not found["exists"]:
        _require("logs", [f"log group {names.log_group} not found (apply step 'logs' first)"])
    days = found["retention_days"]
    wrong = days != names.log_retention_days
    _require("logs", [f"retention {days} days, not {names.log_retention_days}"] if wrong else [])
    return [f"log group {names.log_group}: kept {days} days, {found['streams']} stream(s)"]


def _check_network(ctx: AwsContext, names: StackNames) -> list[str]:
    found = network.describe(ctx, names)
    absent = [
        group
        for group, key in (
            (names.alb_security_group, "alb_security_group"),
            (names.task_security_group, "task_security_group"),
        )
        if found[key] is None
    ]
    if absent:
        _require("network", [f"security group(s) {absent} not found (apply step 'network' first)"])
    _require("network", network.check_task_ingress(ctx, names))
    return [
        f"{names.task_security_group}: admits {names.container_port} from "
        f"{names.alb_security_group} only",
        f"subnets: {', '.join(found['subnets'])} in {found['vpc']}",
    ]


def _check_alb(ctx: AwsContext, names: StackNames) -> list[str]:
    found = alb.describe(ctx, names)
    lb, tg = found["load_balancer"], found["target_group"]
    absent = [what for what, have in (("load balancer", lb), ("target group", tg)) if not have]
    if absent:
        _require("alb", [f"{' and '.join(absent)} not found (apply step 'alb' first)"])
    problems = []
    if lb["state"] not in ("provisioning", "active"):
        problems.append(f"load balancer {names.alb} is {lb['state']}")
    if tg["HealthCheckPath"] != names.health_path:
        problems.append(f"health check path {tg['HealthCheckPath']}, not {names.health_path}")
    if not any(ln["action"] == "forward" for ln in found["listeners"]):
        problems.append("no listener forwards to the target group")
    _require("alb", problems)
    return [
        f"load balancer {lb['dns_name']}: {lb['state']} in {', '.join(lb['zones'])}",
        f"target group {names.target_group}: checks {tg['HealthCheckPath']} every "
        f"{tg['HealthCheckIntervalSeconds']} s, {tg['targets']} target(s)",
    ]


def _check_state(ctx: AwsContext, names: StackNames) -> list[str]:
    found = state.describe(ctx, names)
    absent = [what for what in ("bucket", "table") if found[what] is None]
    if absent:
        _require("state", [f"{' and '.join(absent)} not found (apply step 'state' first)"])
    blocks = found["bucket"]["public_access_block"] or {}
    problems = [] if blocks and all(blocks.values()) else ["the bucket is not blocked from public"]
    _require("state", problems)
    return [
        f"bucket {found['bucket']['name']}: public access blocked",
        f"table {found['table']['name']}: {found['table']['billing']}",
    ]


def _check_ecs(ctx: AwsContext, names: StackNames) -> list[str]:
    found = ecs.describe(ctx, names)
    service = found["service"]
    if found["cluster"] is None or service is None or service["status"] != "ACTIVE":
        _require("ecs", [f"{ecs.what(names)} not found or not ACTIVE (apply step 'ecs' first)"])
    td = found["task_definition"]
    problems = []
    if (td["cpu"], td["memory"]) != (names.cpu, names.memory):
        problems.append(f"task size {td['cpu']}/{td['memory']}, not {names.cpu}/{names.memory}")
    balancers = (ecs.find_service(ctx, names) or {}).get("loadBalancers") or []
    if not any(b.get("containerPort") == names.container_port for b in balancers):
        problems.append(f"the service does not register port {names.container_port} with the ALB")
    _require("ecs", problems)
    rollout = [d["rolloutState"] for d in service["deployments"] if d["status"] == "PRIMARY"]
    return [
        f"service {names.service}: ACTIVE, running {service['running']} of "
        f"{service['desired']}, deployment {', '.join(map(str, rollout)) or '-'}",
        f"task definition {names.family}:{td['revision']}: {td['image']}",
    ]


def _check_autoscaling(ctx: AwsContext, names: StackNames) -> list[str]:
    found = autoscaling.describe(ctx, names)
    if found["target"] is None:
        _require(
            "autoscaling",
            [f"no scalable target {found['resource_id']} (apply step 'autoscaling' first)"],
        )
    policies = sorted(found["policies"])
    _require("autoscaling", [] if policies else ["the scalable target has no policy"])
    target = found["target"]
    return [
        f"scalable target {found['resource_id']}: {target['min']} to {target['max']} tasks",
        f"policies: {', '.join(policies)}",
    ]


CHECKS: dict[str, Callable[[AwsContext, StackNames], list[str]]] = {
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
