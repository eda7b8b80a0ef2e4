"""Plan, apply, inspect and tear down the whole stack, one module at a time, in dependency order."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from deploy.changes import Change
from deploy.clients import client
from deploy.config import get_settings
from deploy.errors import ConfirmationRequired, DeployError, aws_errors
from deploy.names import StackNames

# Dependency order. The secret comes before IAM because the execution role's policy names the
# secret's exact ARN (with the random suffix); made the other way round, IAM would first get
# a wildcard and the second apply would have to narrow it (no longer "apply twice = no change").
ORDER = (
    "secrets",
    "iam",
    "ecr",
    "logs",
    "network",
    "alb",
    "state",
    "ecs",
    "autoscaling",
    "budget",
)


def module(name: str):
    """Return the deploy module for one stack step (imported on first use)."""
    if name not in ORDER:
        raise DeployError(f"unknown stack module {name!r}; the stack has {', '.join(ORDER)}")
    return importlib.import_module(f"deploy.{name}")


def _steps(only: tuple[str, ...] | None) -> tuple[str, ...]:
    for name in only or ():
        module(name)  # refuses unknown names
    return tuple(n for n in ORDER if not only or n in only)


def plan(
    names: StackNames,
    *,
    options: dict[str, dict] | None = None,
    only: tuple[str, ...] | None = None,
) -> list[Change]:
    """Return the changes apply would make (a diff; nothing is written)."""
    options = options or {}
    changes: list[Change] = []
    for name in _steps(only):
        changes += module(name).plan(names, **options.get(name, {}))
    return changes


# ---------------------------------------------------------------- cost gate


def estimate(names: StackNames):
    """Return the cost model's breakdown for this stack's task size (deploy.cost)."""
    from deploy import cost

    return cost.stack_cost(vcpu=int(names.cpu) / 1024, memory_gb=int(names.memory) / 1024)


def _backend_kind(backend: str | None) -> str:
    if backend:
        return backend
    from deploy.backend import current_backend

    current = current_backend()
    return current.kind if current else get_settings().backend


def confirm_cost(
    names: StackNames,
    *,
    backend: str | None = None,
    yes: bool = False,
    confirm: Callable[[object], bool] | None = None,
) -> None:
    """On real AWS, show the hourly and monthly cost and require a yes; emulators pass."""
    if _backend_kind(backend) != "aws" or yes:
        return
    breakdown = estimate(names)
    summary = (
        f"this stack costs about ${breakdown.hourly_total:.4f}/hour, "
        f"${breakdown.monthly_total:.2f}/month on real AWS (deploy.cost model)"
    )
    if confirm is None or not confirm(breakdown):
        raise ConfirmationRequired(f"not confirmed: {summary}; pass yes=True (--yes) to accept")


# ---------------------------------------------------------------- apply


def apply(
    names: StackNames,
    *,
    options: dict[str, dict] | None = None,
    only: tuple[str, ...] | None = None,
    backend: str | None = None,
    yes: bool = False,
    confirm: Callable[[object], bool] | None = None,
    progress: bool = True,
) -> list[Change]:
    """Ensure every module in order; a failure stops there and a re-run converges."""
    confirm_cost(names, backend=backend, yes=yes, confirm=confirm)
    options = options or {}
    steps = _steps(only)
    changes: list[Change] = []
    if not progress:
        for name in steps:
            changes += module(name).ensure(names, **options.get(name, {}))
        return changes
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("[bold]apply[/] {task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=len(steps))
        for name in steps:
            bar.update(task, description=name)
            changes += module(name).ensure(names, **options.get(name, {}))
            bar.advance(task)
    return changes


# ---------------------------------------------------------------- status


def status(names: StackNames, *, options: dict[str, dict] | None = None) -> dict:
    """Return an inventory (present/missing/drifted per resource), deployments and target health."""
    from deploy import alb, ecs

    state = {"create": "missing", "update": "drifted", "unchanged": "present"}
    inventory = [
        {"module": c.kind, "name": c.name, "state": state.get(c.action, c.action)}
        for c in plan(names, options=options)
    ]
    try:
        health = alb.target_health(names)
    except DeployError:
        health = []
    return {
        "inventory": inventory,
        "service": ecs.describe(names)["service"],
        "deployments": ecs.deployments(names),
        "target_health": health,
    }


def status_tables(report: dict) -> list:
    """Return rich Tables for a status report (inventory, deployments, target health)."""
    from rich.table import Table

    inv = Table(title="Stack inventory")
    for col in ("resource", "name", "state"):
        inv.add_column(col)
    colour = {"present": "green", "missing": "yellow", "drifted": "red"}
    for row in report["inventory"]:
        inv.add_row(
            row["module"], row["name"], f"[{colour.get(row['state'], 'white')}]{row['state']}"
        )
    dep = Table(title="Service deployments (moto never rolls them forward: see deploy.rollout)")
    for col in ("id", "status", "rollout", "revision", "desired", "running", "failed"):
        dep.add_column(col)
    for d in report["deployments"]:
        dep.add_row(
            d["id"],
            d["status"],
            str(d["rolloutState"]),
            str(d["revision"]),
            str(d["desired"]),
            str(d["running"]),
            str(d["failed"]),
        )
    th = Table(title="Target health (moto calls every target healthy)")
    for col in ("target", "port", "state", "reason"):
        th.add_column(col)
    for t in report["target_health"]:
        th.add_row(t["id"], str(t["port"]), t["state"], str(t["reason"] or ""))
    return [inv, dep, th]


# ---------------------------------------------------------------- teardown


@dataclass
class TeardownReport:
    """What teardown deleted and anything of the project still found afterwards."""

    changes: list[Change] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Return True when nothing of the project is left."""
        return not self.leftovers


def teardown(
    names: StackNames,
    *,
    backend: str | None = None,
    yes: bool = False,
    confirm: Callable[[], bool] | None = None,
) -> TeardownReport:
    """Delete every module in reverse order, then list whatever of the project remains."""
    if _backend_kind(backend) == "aws" and not yes and (confirm is None or not confirm()):
        raise ConfirmationRequired("teardown on real AWS deletes the stack; pass yes=True (--yes)")
    report = TeardownReport()
    for name in reversed(ORDER):
        report.changes += module(name).delete(names)
    report.leftovers = leftovers(names)
    return report


def _ecs_inactive(arn: str) -> bool:
    """Return True for ECS ARNs that are gone in all but name (INACTIVE, being deleted)."""
    # AWS (and moto) keep deleted clusters and services visible as INACTIVE for a while and
    # report their old tags; they cost nothing and cannot be deleted further.
    ecs = client("ecs")
    if ":cluster/" in arn:
        found = ecs.describe_clusters(clusters=[arn])["clusters"]
        return all(c["status"] == "INACTIVE" for c in found)
    if ":service/" in arn:
        cluster = arn.split(":service/")[1].split("/")[0]
        found = ecs.describe_services(cluster=cluster, services=[arn])["services"]
        return all(s["status"] == "INACTIVE" for s in found)
    if ":task-definition/" in arn:
        try:
            td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        except Exception:
            return True
        return td["status"] != "ACTIVE"
    return False


def tagged_resources(names: StackNames) -> list[str]:
    """Return the ARNs the Resource Groups Tagging API still lists with the project tag."""
    with aws_errors(f"resources tagged Project={names.project}", "resourcegroupstaggingapi"):
        pages = (
            client("resourcegroupstaggingapi")
            .get_paginator("get_resources")
            .paginate(TagFilters=[{"Key": "Project", "Values": [names.project]}])
        )
        arns = [r["ResourceARN"] for p in pages for r in p["ResourceTagMappingList"]]
        return sorted(a for a in arns if not (":ecs:" in a and _ecs_inactive(a)))


def _listed(names: StackNames) -> list[str]:
    """Return resources the per-service listings still show (the tagging API misses some)."""
    from deploy import alb, autoscaling, budget, ecr, ecs, iam, logs, network, secrets, state

    found: list[str] = []

    def check(label: str, present: object) -> None:
        if present:
            found.append(label)

    check(f"ecs-cluster {names.cluster}", ecs.find_cluster(names))
    check(f"ecs-service {names.service}", ecs.find_service(names))
    check(f"task-definition {names.family}", ecs.revisions(names))
    check(f"ecr-repository {names.repository}", ecr.find_repository(names))
    check(f"secret {names.secret}", secrets.find_secret(names))
    check(f"log-group {names.log_group}", logs.find_log_group(names))
    for which in network.WHICH:
        check(f"security-group {which}", network.find_security_group(names, which))
    check(f"load-balancer {names.alb}", alb.find_load_balancer(names))
    check(f"target-group {names.target_group}", alb.find_target_group(names))
    for name, current in iam.describe(names).items():
        check(f"iam {name}", current)
    check(f"s3-bucket {state.bucket_name(names)}", state.find_bucket(names))
    check(f"dynamodb-table {names.history_table}", state.find_table(names))
    check(f"efs {state.efs_token(names)}", state.find_file_system(names))
    check(f"scalable-target {autoscaling.resource_id(names)}", autoscaling.find_target(names))
    alarms = client("cloudwatch").describe_alarms()["MetricAlarms"]
    for alarm in alarms:
        if names.service in alarm["AlarmName"]:
            found.append(f"cloudwatch-alarm {alarm['AlarmName']}")
    check(f"budget {names.budget}", budget.find_budget(names))
    return found


def leftovers(names: StackNames) -> list[str]:
    """Return everything of the project still present: tagged ARNs plus per-service listings."""
    return tagged_resources(names) + _listed(names)
