"""Roll the ECS service: deploy an image, redeploy, roll back, scale, wait, read deployments."""

from __future__ import annotations

import math
from typing import Any

from botocore.exceptions import WaiterError

from deploy.aws.errors import InvalidInput, ResourceError, aws_errors
from deploy.aws.names import StackNames
from deploy.models.rollout import RolloutConfig
from deploy.resources import ecr, ecs, ecs_spec, taskdef
from deploy.resources.contract import Change
from service.aws import AwsContext


def deploy(ctx: AwsContext, names: StackNames, image: str, *, pin: bool = True) -> Change:
    """Register the running revision with another image (tag or URI); point the service at it."""
    # What the CI's render action does: the task definition the service runs now, image
    # swapped. A bare tag stays in the repository the running image came from. With `pin`
    # (the default) an image in this account's ECR is named by its digest, looked up now:
    # the revision then runs exactly the build that was pushed, and a tag that was never
    # pushed is refused here instead of failing every task's image pull.
    ecs_spec.check_image(image)
    svc = ecs.require_service(ctx, names)
    current = ecs.describe_revision(ctx, names, svc["taskDefinition"])
    if current is None:
        raise ResourceError(f"{ecs.what(names)} runs {svc['taskDefinition']}, which is gone")
    running = taskdef.container(current)["image"]
    uri = ecs_spec.image_uri(ecs_spec.repository_of(running), image)
    if pin:
        uri = ecr.pinned_uri(ctx, uri)
    detail = {"image": uri, "requested": image}
    if uri == running:
        detail["revision"] = current["revision"]
        return Change(ecs.SERVICE, names.service, "unchanged", detail, current["taskDefinitionArn"])
    td = taskdef.registration(current)
    taskdef.container(td)["image"] = uri
    registered = ecs.register(ctx, names, td)
    arn = registered["taskDefinitionArn"]
    with aws_errors(ecs.what(names), "ecs"):
        ctx.client("ecs").update_service(
            cluster=names.cluster, service=names.service, taskDefinition=arn
        )
    detail.update({"revision": registered["revision"], "from": svc["taskDefinition"]})
    return Change(ecs.SERVICE, names.service, "update", detail, arn)


def redeploy(ctx: AwsContext, names: StackNames) -> Change:
    """Start fresh tasks from the same revision (e.g. to pick up a rotated secret, errata 9)."""
    svc = ecs.require_service(ctx, names)
    with aws_errors(ecs.what(names), "ecs"):
        ctx.client("ecs").update_service(
            cluster=names.cluster, service=names.service, forceNewDeployment=True
        )
    return Change(
        ecs.SERVICE, names.service, "update", {"forceNewDeployment": True}, svc["serviceArn"]
    )


def rollback(ctx: AwsContext, names: StackNames, revision: int) -> Change:
    """Point the service back at an earlier ACTIVE revision of the family."""
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        raise InvalidInput(f"revision must be a whole number >= 1, got {revision!r}")
    svc = ecs.require_service(ctx, names)
    active = ecs.revisions(ctx, names)
    if revision not in active:
        raise InvalidInput(
            f"unknown revision {revision} of task family {names.family}; "
            f"ACTIVE revisions: {', '.join(map(str, active)) or 'none'}"
        )
    arn = f"{svc['taskDefinition'].rsplit(':', 1)[0]}:{revision}"
    with aws_errors(ecs.what(names), "ecs"):
        ctx.client("ecs").update_service(
            cluster=names.cluster, service=names.service, taskDefinition=arn
        )
    detail = {"from": svc["taskDefinition"], "revision": revision}
    return Change(ecs.SERVICE, names.service, "update", detail, arn)


def scale(ctx: AwsContext, names: StackNames, count: int) -> Change:
    """Set the service's desired count (auto scaling may move it back inside its min/max)."""
    ecs.check_count(count, "desired count")
    svc = ecs.require_service(ctx, names)
    with aws_errors(ecs.what(names), "ecs"):
        ctx.client("ecs").update_service(
            cluster=names.cluster, service=names.service, desiredCount=count
        )
    return Change(
        ecs.SERVICE,
        names.service,
        "update" if svc["desiredCount"] != count else "unchanged",
        {"desiredCount": (svc["desiredCount"], count)},
        svc["serviceArn"],
    )


def wait_stable(
    ctx: AwsContext, names: StackNames, *, timeout: float = 600, delay: float = 15
) -> dict:
    """Wait until the service is stable (one deployment, running == desired); return it."""
    ecs.require_service(ctx, names)
    attempts = max(1, math.ceil(timeout / delay))
    waiter = ctx.client("ecs").get_waiter("services_stable")
    try:
        waiter.wait(
            cluster=names.cluster,
            services=[names.service],
            WaiterConfig={"Delay": delay, "MaxAttempts": attempts},
        )
    except WaiterError as exc:
        # "ServiceNotStable" is this waiter giving up, not an ECS error (errata 21).
        raise ResourceError(f"{ecs.what(names)} was not stable after {timeout:g} s: {exc}") from exc
    return ecs.require_service(ctx, names)


def deployments(ctx: AwsContext, names: StackNames) -> list[dict]:
    """Return the service's deployments (status, rollout state, revision, counts)."""
    return ecs.deployments_of(ecs.find_service(ctx, names))


def rollout_config(ctx: AwsContext, names: StackNames, **assumptions: Any) -> RolloutConfig:
    """Return the rollout model's config for the service as applied (plus `assumptions`)."""
    svc = ecs.require_service(ctx, names)
    td = ecs.describe_revision(ctx, names, svc["taskDefinition"])
    target_group, attributes = None, None
    balancers = svc.get("loadBalancers") or []
    if balancers:
        arn = balancers[0]["targetGroupArn"]
        elb = ctx.client("elbv2")
        with aws_errors(f"target group {arn}", "elbv2"):
            target_group = elb.describe_target_groups(TargetGroupArns=[arn])
            attributes = elb.describe_target_group_attributes(TargetGroupArn=arn)
    return RolloutConfig.from_aws(svc, td, target_group, attributes, **assumptions)
