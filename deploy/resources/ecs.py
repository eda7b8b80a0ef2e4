"""Keep the ECS cluster, the task definition revisions and the service (deploy.release rolls it)."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from deploy.aws.errors import InvalidInput, ResourceError, aws_errors
from deploy.aws.names import StackNames
from deploy.resources import ecs_spec, taskdef
from deploy.resources.contract import (
    UNKNOWN,
    Change,
    Result,
    diff,
    missing_tags,
    require,
    tag_map,
)
from deploy.resources.outputs import (
    AlbOutputs,
    EcrOutputs,
    EcsOutputs,
    IamOutputs,
    LogsOutputs,
    NetworkOutputs,
    SecretOutputs,
    StateOutputs,
)
from service.aws import AwsContext

CLUSTER, TASK_DEFINITION, SERVICE = "ecs-cluster", "task-definition", "ecs-service"
CAPACITY_PROVIDERS = ["FARGATE", "FARGATE_SPOT"]
# Every task on regular Fargate unless a service asks for Spot (base 1 keeps one on-demand).
DEFAULT_STRATEGY = [{"capacityProvider": "FARGATE", "weight": 1, "base": 1}]
CLUSTER_SETTINGS = [{"name": "containerInsights", "value": "enabled"}]


def what(names: StackNames, kind: str = SERVICE) -> str:
    return {
        CLUSTER: f"ECS cluster {names.cluster}",
        SERVICE: f"ECS service {names.service} in cluster {names.cluster}",
        TASK_DEFINITION: f"task definition family {names.family}",
    }[kind]


def revision_of(arn: str) -> int:
    return int(arn.rsplit(":", 1)[1])


# ---------------------------------------------------------------- finding what exists


def find_cluster(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return the ACTIVE cluster (settings and tags included) or None."""
    with aws_errors(what(names, CLUSTER), "ecs"):
        found = ctx.client("ecs").describe_clusters(
            clusters=[names.cluster], include=["SETTINGS", "TAGS"]
        )
    return next((c for c in found["clusters"] if c["status"] == "ACTIVE"), None)


def find_service(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return the service (ACTIVE or DRAINING, tags included) or None."""
    with aws_errors(what(names), "ecs"):
        try:
            found = ctx.client("ecs").describe_services(
                cluster=names.cluster, services=[names.service], include=["TAGS"]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ClusterNotFoundException":
                return None
            raise
    return next((s for s in found["services"] if s["status"] in ("ACTIVE", "DRAINING")), None)


def revisions(ctx: AwsContext, names: StackNames) -> list[int]:
    """Return the ACTIVE revision numbers of the family, oldest first."""
    with aws_errors(what(names, TASK_DEFINITION), "ecs"):
        pages = (
            ctx.client("ecs")
            .get_paginator("list_task_definitions")
            .paginate(familyPrefix=names.family, status="ACTIVE")
        )
        arns = [a for p in pages for a in p["taskDefinitionArns"]]
    # familyPrefix is a prefix: keep only this exact family.
    return sorted(revision_of(a) for a in arns if a.split("/")[-1].split(":")[0] == names.family)


def describe_revision(ctx: AwsContext, names: StackNames, ref: str) -> dict | None:
    """Return describe_task_definition for `ref` (family:revision or ARN), or None."""
    with aws_errors(what(names, TASK_DEFINITION), "ecs"):
        try:
            return ctx.client("ecs").describe_task_definition(taskDefinition=ref)["taskDefinition"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("ClientException", "InvalidParameterException"):
                return None
            raise


def _latest(ctx: AwsContext, names: StackNames) -> dict | None:
    revs = revisions(ctx, names)
    return describe_revision(ctx, names, f"{names.family}:{revs[-1]}") if revs else None


def task_definition(ctx: AwsContext, names: StackNames, revision: int | None = None) -> dict | None:
    """Return one revision (default: the service's, else the latest ACTIVE), or None."""
    if revision is not None:
        return describe_revision(ctx, names, f"{names.family}:{revision}")
    svc = find_service(ctx, names)
    if svc is not None:
        return describe_revision(ctx, names, svc["taskDefinition"])
    return _latest(ctx, names)


@dataclass(frozen=True)
class Found:
    """What exists: the cluster, the service and the revision it runs (else the latest)."""

    cluster: dict | None
    service: dict | None
    task_definition: dict | None


def find(ctx: AwsContext, names: StackNames) -> Found:
    """Describe the cluster, the service and its task definition, each once."""
    cluster = find_cluster(ctx, names)
    svc = find_service(ctx, names) if cluster is not None else None
    if svc is not None:
        td = describe_revision(ctx, names, svc["taskDefinition"])
    else:  # no service to say which revision: the family's newest one
        td = _latest(ctx, names)
    return Found(cluster, svc, td)


# ---------------------------------------------------------------- plan / ensure


def _cluster(ctx: AwsContext, names: StackNames, found: dict | None, apply: bool) -> Change:
    ecs = ctx.client("ecs")
    if found is None:
        arn = None
        if apply:
            with aws_errors(what(names, CLUSTER), "ecs"):
                arn = ecs.create_cluster(
                    clusterName=names.cluster,
                    capacityProviders=CAPACITY_PROVIDERS,
                    defaultCapacityProviderStrategy=DEFAULT_STRATEGY,
                    settings=CLUSTER_SETTINGS,
                    tags=names.tag_list("key", "value"),
                )["cluster"]["clusterArn"]
        return Change(CLUSTER, names.cluster, "create", {}, arn)
    tags = tag_map(found.get("tags"), "key", "value")
    have = {
        "capacityProviders": sorted(found.get("capacityProviders", [])),
        "defaultCapacityProviderStrategy": found.get("defaultCapacityProviderStrategy", []),
        "settings": found.get("settings", []),
        "tags": tags,
    }
    want = {
        "capacityProviders": sorted(CAPACITY_PROVIDERS),
        "defaultCapacityProviderStrategy": DEFAULT_STRATEGY,
        "settings": CLUSTER_SETTINGS,
        "tags": {**tags, **names.tags},
    }
    changes = diff(have, want)
    if apply and changes:
        with aws_errors(what(names, CLUSTER), "ecs"):
            if "settings" in changes:
                # update_cluster carries settings too; moto lacks update_cluster_settings.
                ecs.update_cluster(cluster=names.cluster, settings=CLUSTER_SETTINGS)
            if {"capacityProviders", "defaultCapacityProviderStrategy"} & changes.keys():
                ecs.put_cluster_capacity_providers(
                    cluster=names.cluster,
                    capacityProviders=CAPACITY_PROVIDERS,
                    defaultCapacityProviderStrategy=DEFAULT_STRATEGY,
                )
            if "tags" in changes:
                ecs.tag_resource(
                    resourceArn=found["clusterArn"], tags=names.tag_list("key", "value")
                )
    action = "update" if changes else "unchanged"
    return Change(CLUSTER, names.cluster, action, changes, found["clusterArn"])


def register(ctx: AwsContext, names: StackNames, td: dict) -> dict:
    with aws_errors(what(names, TASK_DEFINITION), "ecs"):
        return ctx.client("ecs").register_task_definition(
            **td, tags=names.tag_list("key", "value")
        )["taskDefinition"]


def _task_definition(
    ctx: AwsContext,
    names: StackNames,
    current: dict | None,
    want: dict | None,
    image: str,
    apply: bool,
) -> Change:
    """Return the revision's change; `want` None means an input is only known after apply."""
    if current is not None and want is not None and ecs_spec.subset(current, want):
        detail = {"revision": current["revision"]}
        return Change(
            TASK_DEFINITION, names.family, "unchanged", detail, current["taskDefinitionArn"]
        )
    action = "create" if current is None else "update"
    detail: dict = {"image": image}
    if not apply:
        return Change(TASK_DEFINITION, names.family, action, detail)
    if want is None:
        raise ResourceError(f"{what(names, TASK_DEFINITION)}: an input is not known yet")
    registered = register(ctx, names, want)
    detail["revision"] = registered["revision"]
    return Change(TASK_DEFINITION, names.family, action, detail, registered["taskDefinitionArn"])


def _create_service(
    ctx: AwsContext, names: StackNames, td_arn: str, want: dict, desired_count: int
) -> str:
    ecs = ctx.client("ecs")
    with aws_errors(what(names), "ecs"):
        created = ecs.create_service(
            cluster=names.cluster,
            serviceName=names.service,
            taskDefinition=td_arn,
            desiredCount=desired_count,
            launchType="FARGATE",
            platformVersion="LATEST",
            schedulingStrategy="REPLICA",
            deploymentController={"type": "ECS"},
            propagateTags="SERVICE",
            enableECSManagedTags=True,
            tags=names.tag_list("key", "value"),
            **want,
        )["service"]
        if ctx.kind == "moto":
            # moto's create_service drops deploymentConfiguration and
            # healthCheckGracePeriodSeconds (they come back null; localstack/README.md), while
            # update_service stores them: repeat them so the next plan is "unchanged".
            ecs.update_service(
                cluster=names.cluster,
                service=names.service,
                deploymentConfiguration=want["deploymentConfiguration"],
                healthCheckGracePeriodSeconds=want["healthCheckGracePeriodSeconds"],
            )
    return created["serviceArn"]


def _service(
    ctx: AwsContext,
    names: StackNames,
    svc: dict | None,
    td_arn: str,
    want: dict,
    desired_count: int,
    apply: bool,
) -> Change:
    if svc is None:
        arn = _create_service(ctx, names, td_arn, want, desired_count) if apply else None
        return Change(SERVICE, names.service, "create", {"desiredCount": desired_count}, arn)
    changes = diff(ecs_spec.current_settings(svc), want)
    if svc["taskDefinition"] != td_arn:
        changes["taskDefinition"] = (svc["taskDefinition"], td_arn)
    tags = tag_map(svc.get("tags"), "key", "value")
    absent = missing_tags(tags, names.tags)
    if absent:
        changes["tags"] = (tags, names.tags)
    if apply and changes:
        update = {k: want[k] for k in changes if k in want}
        if "taskDefinition" in changes:
            update["taskDefinition"] = td_arn
        with aws_errors(what(names), "ecs"):
            if update:
                ctx.client("ecs").update_service(
                    cluster=names.cluster, service=names.service, **update
                )
            if absent:
                ctx.client("ecs").tag_resource(
                    resourceArn=svc["serviceArn"], tags=names.tag_list("key", "value")
                )
    action = "update" if changes else "unchanged"
    return Change(SERVICE, names.service, action, changes, svc["serviceArn"])


def check_count(count: object, what: str) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidInput(f"{what} must be a whole number >= 0, got {count!r}")
    return count


def _converge(
    ctx: AwsContext,
    names: StackNames,
    *,
    secrets: SecretOutputs,
    iam: IamOutputs,
    ecr: EcrOutputs,
    logs: LogsOutputs,
    network: NetworkOutputs,
    alb: AlbOutputs,
    state: StateOutputs | None,
    image: str | None,
    desired_count: int,
    apply: bool,
) -> Result:
    check_count(desired_count, "desired_count")
    found = find(ctx, names)
    current = found.task_definition
    if image is not None:
        uri = ecs_spec.image_uri(ecr.repository_uri, image)
    elif current is not None:  # keep the image running now (a deploy or a rollback chose it)
        uri = taskdef.container(current)["image"]
    else:
        uri = ecs_spec.image_uri(ecr.repository_uri, "latest")
    want_td = ecs_spec.render(
        ctx, names, uri, secrets, iam, logs, state
    )  # bad sizes fail before any write
    cluster = _cluster(ctx, names, found.cluster, apply)
    td = _task_definition(ctx, names, current, want_td, uri, apply)
    want_svc = ecs_spec.service_settings(names, network, alb)
    svc = _service(ctx, names, found.service, td.arn or UNKNOWN, want_svc, desired_count, apply)
    outputs = EcsOutputs(
        cluster_arn=cluster.arn or UNKNOWN,
        service_arn=svc.arn or UNKNOWN,
        task_definition_arn=td.arn or UNKNOWN,
    )
    return Result([cluster, td, svc], outputs)


def plan(
    ctx: AwsContext,
    names: StackNames,
    *,
    secrets: SecretOutputs,
    iam: IamOutputs,
    ecr: EcrOutputs,
    logs: LogsOutputs,
    network: NetworkOutputs,
    alb: AlbOutputs,
    state: StateOutputs | None = None,
    image: str | None = None,
    desired_count: int = 1,
) -> Result:
    """Return what ensure would do to the cluster, the task definition and the service."""
    return _converge(
        ctx, names, secrets=secrets, iam=iam, ecr=ecr, logs=logs, network=network, alb=alb,
        state=state, image=image, desired_count=desired_count, apply=False,
    )  # fmt: skip


def ensure(
    ctx: AwsContext,
    names: StackNames,
    *,
    secrets: SecretOutputs,
    iam: IamOutputs,
    ecr: EcrOutputs,
    logs: LogsOutputs,
    network: NetworkOutputs,
    alb: AlbOutputs,
    state: StateOutputs | None = None,
    image: str | None = None,
    desired_count: int = 1,
) -> Result:
    """Create or converge cluster, task definition and service (desired_count only on create)."""
    by = what(names)
    require("the secret", by, secrets.arn)
    require("the execution role", by, iam.execution_role_arn)
    require("the task role", by, iam.task_role_arn)
    require("the ECR repository", by, ecr.repository_uri)
    require("the log group", by, logs.log_group)
    require("the default subnets", by, network.subnet_ids)
    require("the task security group", by, network.task_security_group_id)
    require("the ALB's target group", by, alb.target_group_arn)
    return _converge(
        ctx, names, secrets=secrets, iam=iam, ecr=ecr, logs=logs, network=network, alb=alb,
        state=state, image=image, desired_count=desired_count, apply=True,
    )  # fmt: skip


def require_service(ctx: AwsContext, names: StackNames) -> dict:
    svc = find_service(ctx, names)
    if svc is None:
        raise ResourceError(f"{what(names)} does not exist; run `workbook stack apply` first")
    return svc


def deployments_of(svc: dict | None) -> list[dict]:
    """Return a described service's deployments (status, rollout state, revision, counts)."""
    return [
        {
            "id": d["id"],
            "status": d["status"],
            "rolloutState": d.get("rolloutState"),
            "revision": revision_of(d["taskDefinition"]),
            "desired": d.get("desiredCount"),
            "running": d.get("runningCount"),
            "failed": d.get("failedTasks", 0),
        }
        for d in (svc or {}).get("deployments", [])
    ]


def describe(ctx: AwsContext, names: StackNames) -> dict:
    """Return the cluster, service and current task definition as plain data."""
    found = find(ctx, names)
    cluster, svc, td = found.cluster, found.service, found.task_definition
    return {
        "cluster": None
        if cluster is None
        else {
            "arn": cluster["clusterArn"],
            "capacityProviders": cluster.get("capacityProviders", []),
            "settings": cluster.get("settings", []),
        },
        "service": None
        if svc is None
        else {
            "arn": svc["serviceArn"],
            "status": svc["status"],
            "desired": svc["desiredCount"],
            "running": svc["runningCount"],
            "pending": svc["pendingCount"],
            "revision": revision_of(svc["taskDefinition"]),
            "deploymentConfiguration": svc.get("deploymentConfiguration"),
            "healthCheckGracePeriodSeconds": svc.get("healthCheckGracePeriodSeconds"),
            "deployments": deployments_of(svc),
        },
        "task_definition": None
        if td is None
        else {
            "arn": td["taskDefinitionArn"],
            "revision": td["revision"],
            "image": taskdef.container(td)["image"],
            "cpu": td.get("cpu"),
            "memory": td.get("memory"),
        },
        "revisions": revisions(ctx, names),
    }


def delete(ctx: AwsContext, names: StackNames) -> list[Change]:
    """Delete the service, deregister and delete every revision, then delete the cluster."""
    ecs, changes = ctx.client("ecs"), []
    cluster = find_cluster(ctx, names)
    svc = find_service(ctx, names) if cluster is not None else None
    if svc is None:
        changes.append(Change(SERVICE, names.service, "absent"))
    else:
        with aws_errors(what(names), "ecs"):
            ecs.update_service(cluster=names.cluster, service=names.service, desiredCount=0)
            ecs.delete_service(cluster=names.cluster, service=names.service, force=True)
            # A DRAINING service (tasks still stopping) blocks delete_cluster on AWS.
            ecs.get_waiter("services_inactive").wait(
                cluster=names.cluster,
                services=[names.service],
                WaiterConfig={"Delay": 5, "MaxAttempts": 120},
            )
        changes.append(Change(SERVICE, names.service, "delete", {}, svc["serviceArn"]))
    revs = revisions(ctx, names)
    if not revs:
        changes.append(Change(TASK_DEFINITION, names.family, "absent"))
    else:
        refs = [f"{names.family}:{r}" for r in revs]
        with aws_errors(what(names, TASK_DEFINITION), "ecs"):
            for ref in refs:
                ecs.deregister_task_definition(taskDefinition=ref)
            # An INACTIVE revision still exists (and keeps its tags) until it is deleted.
            for start in range(0, len(refs), 10):  # the API takes at most 10 at a time
                ecs.delete_task_definitions(taskDefinitions=refs[start : start + 10])
        changes.append(Change(TASK_DEFINITION, names.family, "delete", {"revisions": revs}))
    if cluster is None:
        changes.append(Change(CLUSTER, names.cluster, "absent"))
    else:
        with aws_errors(what(names, CLUSTER), "ecs"):
            ecs.delete_cluster(cluster=names.cluster)
        changes.append(Change(CLUSTER, names.cluster, "delete", {}, cluster["clusterArn"]))
    return changes
