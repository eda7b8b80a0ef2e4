"""The stack: one map of what each resource needs; plan, apply, status and teardown over it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from deploy import present, release
from deploy.aws.errors import ConfirmationRequired, DeployError, aws_errors
from deploy.aws.names import StackNames
from deploy.models import cost
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
from deploy.resources.contract import Change, known
from service.aws import AwsContext

# What each resource needs handed to it (its ensure/plan take these as keyword arguments,
# each the outputs of that resource). The secret comes before IAM because the execution
# role's policy names the secret's exact ARN, random suffix included.
NEEDS: dict[str, tuple[str, ...]] = {
    "secrets": (),
    "iam": ("secrets",),
    "ecr": (),
    "logs": (),
    "network": (),
    "alb": ("network",),
    "state": ("network",),  # the optional EFS admits NFS from the task security group
    "ecs": ("secrets", "iam", "ecr", "logs", "network", "alb", "state"),  # tasks use state
    "autoscaling": ("ecs", "alb"),
    "budget": (),
}
MODULES = {
    "secrets": secrets,
    "iam": iam,
    "ecr": ecr,
    "logs": logs,
    "network": network,
    "alb": alb,
    "state": state,
    "ecs": ecs,
    "autoscaling": autoscaling,
    "budget": budget,
}


def _order(needs: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Return every resource after its prerequisites, otherwise in the map's order."""
    done: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise DeployError(f"dependency cycle: {' -> '.join((*path, name))}")
        for dep in needs[name]:
            visit(dep, (*path, name))
        if name not in done:
            done.append(name)

    for name in needs:
        visit(name, ())
    return tuple(done)


ORDER = _order(NEEDS)


def steps(target: str | Iterable[str] | None = None) -> tuple[str, ...]:
    """Return what `target` (default: everything) needs, itself included, in apply order."""
    if target is None:
        return ORDER
    targets = (target,) if isinstance(target, str) else tuple(target)
    wanted: set[str] = set()

    def pull(name: str) -> None:
        if name not in NEEDS:
            raise DeployError(f"unknown stack resource {name!r}; the stack has {', '.join(ORDER)}")
        if name not in wanted:
            wanted.add(name)
            for dep in NEEDS[name]:
                pull(dep)

    for name in targets:
        pull(name)
    return tuple(n for n in ORDER if n in wanted)


@dataclass
class StackResult:
    """What a plan or an apply did: every resource's changes, and each module's outputs."""

    changes: list[Change] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    by_step: dict[str, list[Change]] = field(default_factory=dict)  # each module's own changes

    @property
    def changed(self) -> list[Change]:
        """Return the changes that create, update or delete something."""
        return [c for c in self.changes if c.changed]


def _run(
    verb: str,
    ctx: AwsContext,
    names: StackNames,
    target: str | Iterable[str] | None,
    options: dict[str, dict] | None,
    advance: Callable[[str], None] = lambda _: None,
) -> StackResult:
    options = options or {}
    result = StackResult()
    for name in steps(target):
        advance(name)
        inputs = {dep: result.outputs[dep] for dep in NEEDS[name]}
        done = getattr(MODULES[name], verb)(ctx, names, **inputs, **options.get(name, {}))
        result.changes += done.changes
        result.outputs[name] = done.outputs
        result.by_step[name] = list(done.changes)
    return result


def stack_options(
    *,
    certificate_arn: str | None = None,
    ci_user: bool = False,
    image: str | None = None,
    budget: dict | None = None,
) -> dict[str, dict]:
    """Return the per-resource options for the stack-wide choices (for plan, apply, status)."""
    # HTTPS is two resources' business: the ALB group admits 443, the ALB listens there.
    # The ARN is checked here, before the network (applied first) would open 443 for it.
    if certificate_arn is not None:
        alb.check_certificate_arn(certificate_arn)
    options: dict[str, dict] = {
        "network": {"https": certificate_arn is not None},
        "alb": {"certificate_arn": certificate_arn},
        "iam": {"ci_user": ci_user},
    }
    if image is not None:
        options["ecs"] = {"image": image}
    if budget:
        options["budget"] = dict(budget)
    return options


def plan(
    ctx: AwsContext,
    names: StackNames,
    *,
    target: str | Iterable[str] | None = None,
    options: dict[str, dict] | None = None,
) -> StackResult:
    """Return the changes apply would make (a diff; nothing is written)."""
    return _run("plan", ctx, names, target, options)


def estimate(names: StackNames) -> cost.CostBreakdown:
    """Return the cost model's breakdown for this stack's task size."""
    return cost.stack_cost(vcpu=int(names.cpu) / 1024, memory_gb=int(names.memory) / 1024)


def confirm_cost(
    ctx: AwsContext,
    names: StackNames,
    *,
    yes: bool = False,
    confirm: Callable[[cost.CostBreakdown], bool] | None = None,
) -> None:
    """On real AWS, show the hourly and monthly cost and require a yes; emulators pass."""
    if ctx.kind != "aws" or yes:
        return
    breakdown = estimate(names)
    summary = (
        f"this stack costs about ${breakdown.hourly_total:.4f}/hour, "
        f"${breakdown.monthly_total:.2f}/month on real AWS (deploy.models.cost model)"
    )
    if confirm is None or not confirm(breakdown):
        raise ConfirmationRequired(f"not confirmed: {summary}; pass yes=True (--yes) to accept")


def apply(
    ctx: AwsContext,
    names: StackNames,
    *,
    target: str | Iterable[str] | None = None,
    options: dict[str, dict] | None = None,
    yes: bool = False,
    confirm: Callable[[cost.CostBreakdown], bool] | None = None,
    progress: bool = False,
) -> StackResult:
    """Ensure `target` and what it needs, in order; a failure stops there, a re-run converges."""
    confirm_cost(ctx, names, yes=yes, confirm=confirm)
    if not progress:
        return _run("ensure", ctx, names, target, options)
    with present.step_progress("apply", len(steps(target))) as advance:
        return _run("ensure", ctx, names, target, options, advance)


def status(ctx: AwsContext, names: StackNames, *, options: dict[str, dict] | None = None) -> dict:
    """Return an inventory (present/missing/drifted), the endpoint, deployments, target health."""
    # `options` are the ones the stack was applied with; otherwise a choice such as HTTPS
    # shows up as drift.
    planned = plan(ctx, names, options=options)
    word = {"create": "missing", "update": "drifted", "unchanged": "present"}
    inventory = [
        {"module": c.kind, "name": c.name, "state": word.get(c.action, c.action)}
        for c in planned.changes
    ]
    tg_arn = planned.outputs["alb"].target_group_arn
    return {
        "inventory": inventory,
        "endpoint": endpoint(planned, names),
        "service": ecs.describe(ctx, names)["service"],
        "deployments": release.deployments(ctx, names),
        "target_health": alb.target_health(ctx, tg_arn) if known(tg_arn) else [],
    }


PLAIN_HTTP = (
    "plain HTTP: requests, answers and the API key cross the internet unencrypted; "
    "give the ALB an ACM certificate (--certificate-arn) for HTTPS"
)


def endpoint(planned: StackResult, names: StackNames) -> dict:
    """Return where the service answers and whether that is HTTPS, from a plan of the stack."""
    # What is live: a :443 listener that exists (a plan would keep, change or delete it).
    listeners = {c.name: c.action for c in planned.changes if c.kind == "listener"}
    https = listeners.get(f"{names.alb}:{alb.HTTPS_PORT}") not in (None, "create")
    dns = planned.outputs["alb"].dns_name
    scheme = "https" if https else "http"
    return {
        "url": f"{scheme}://{dns}" if known(dns) else None,
        "https": https,
        "note": "HTTPS with the ACM certificate; :80 redirects to it" if https else PLAIN_HTTP,
    }


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
    ctx: AwsContext,
    names: StackNames,
    *,
    yes: bool = False,
    confirm: Callable[[], bool] | None = None,
) -> TeardownReport:
    """Delete every resource in reverse order, then list whatever of the project remains."""
    if ctx.kind == "aws" and not yes and (confirm is None or not confirm()):
        raise ConfirmationRequired("teardown on real AWS deletes the stack; pass yes=True (--yes)")
    report = TeardownReport()
    for name in reversed(ORDER):
        report.changes += MODULES[name].delete(ctx, names)
    report.leftovers = leftovers(ctx, names)
    return report


def _ecs_inactive(ctx: AwsContext, arn: str) -> bool:
    """Return True for ECS ARNs that are gone in all but name (INACTIVE, being deleted)."""
    # AWS (and moto) keep deleted clusters and services visible as INACTIVE for a while and
    # report their old tags; they cost nothing and cannot be deleted further.
    client = ctx.client("ecs")
    if ":cluster/" in arn:
        found = client.describe_clusters(clusters=[arn])["clusters"]
        return all(c["status"] == "INACTIVE" for c in found)
    if ":service/" in arn:
        cluster = arn.split(":service/")[1].split("/")[0]
        found = client.describe_services(cluster=cluster, services=[arn])["services"]
        return all(s["status"] == "INACTIVE" for s in found)
    if ":task-definition/" in arn:
        try:
            td = client.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        except Exception:
            return True
        return td["status"] != "ACTIVE"
    return False


def tagged_resources(ctx: AwsContext, names: StackNames) -> list[str]:
    """Return the ARNs the Resource Groups Tagging API still lists with the project tag."""
    with aws_errors(f"resources tagged Project={names.project}", "resourcegroupstaggingapi"):
        pages = (
            ctx.client("resourcegroupstaggingapi")
            .get_paginator("get_resources")
            .paginate(TagFilters=[{"Key": "Project", "Values": [names.project]}])
        )
        arns = [r["ResourceARN"] for p in pages for r in p["ResourceTagMappingList"]]
        return sorted(a for a in arns if not (":ecs:" in a and _ecs_inactive(ctx, a)))


def leftovers(ctx: AwsContext, names: StackNames) -> list[str]:
    """Return everything of the project still present: tagged ARNs, then what a plan still finds."""
    # The tagging API misses some resources (IAM, budgets): a plan still finding one says so.
    found = [
        f"{c.kind} {c.name}"
        for c in plan(ctx, names).changes
        if c.action != "create" and c.kind != "vpc"  # the default VPC is found, never made
    ]
    with aws_errors("CloudWatch alarms", "cloudwatch"):
        alarms = ctx.client("cloudwatch").describe_alarms()["MetricAlarms"]
    found += [
        f"cloudwatch-alarm {a['AlarmName']}" for a in alarms if names.service in a["AlarmName"]
    ]
    return tagged_resources(ctx, names) + sorted(set(found))
