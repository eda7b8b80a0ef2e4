"""Keep the ECS cluster, the task definition revisions and the service; deploy and roll back."""

from __future__ import annotations

import math
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from deploy import taskdef
from deploy.changes import Change, diff
from deploy.clients import account_id, client
from deploy.errors import DeployError, InvalidInput, ResourceError, aws_errors
from deploy.names import StackNames

CAPACITY_PROVIDERS = ["FARGATE", "FARGATE_SPOT"]
# Every task on regular Fargate unless a service asks for Spot (base 1 keeps one on-demand).
DEFAULT_STRATEGY = [{"capacityProvider": "FARGATE", "weight": 1, "base": 1}]
CLUSTER_SETTINGS = [{"name": "containerInsights", "value": "enabled"}]
# Rolling update: start the new task before stopping the old one (100 % stays healthy, up to
# 200 % run during the swap). The circuit breaker counts failed *tasks*, threshold
# 0.5 x desired with a floor of 3 (errata 1; deploy.rollout models it), then rolls back.
DEPLOYMENT_CONFIGURATION = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
}
# ALB defaults, used only while the target group does not exist yet (plan before apply).
_ALB_DEFAULT_INTERVAL, _ALB_DEFAULT_HEALTHY = 30, 5


def _ecs():
    return client("ecs")


def _what(names: StackNames, kind: str = "service") -> str:
    return {
        "cluster": f"ECS cluster {names.cluster}",
        "service": f"ECS service {names.service} in cluster {names.cluster}",
        "taskdef": f"task definition family {names.family}",
    }[kind]


def _optional(fn, *args, **kwargs):
    """Return fn(...) or None when the dependency it looks up does not exist yet."""
    try:
        return fn(*args, **kwargs)
    except (DeployError, ImportError, AttributeError):
        return None


# ---------------------------------------------------------------- finders


def find_cluster(names: StackNames) -> dict | None:
    """Return the ACTIVE cluster (settings and tags included) or None."""
    with aws_errors(_what(names, "cluster"), "ecs"):
        found = _ecs().describe_clusters(clusters=[names.cluster], include=["SETTINGS", "TAGS"])
    for c in found["clusters"]:
        if c["status"] == "ACTIVE":
            return c
    return None


def find_service(names: StackNames) -> dict | None:
    """Return the service (ACTIVE or DRAINING, tags included) or None."""
    if find_cluster(names) is None:
        return None
    with aws_errors(_what(names), "ecs"):
        found = _ecs().describe_services(
            cluster=names.cluster, services=[names.service], include=["TAGS"]
        )
    for s in found["services"]:
        if s["status"] in ("ACTIVE", "DRAINING"):
            return s
    return None


def revisions(names: StackNames) -> list[int]:
    """Return the ACTIVE revision numbers of the family, oldest first."""
    with aws_errors(_what(names, "taskdef"), "ecs"):
        pages = (
            _ecs()
            .get_paginator("list_task_definitions")
            .paginate(familyPrefix=names.family, status="ACTIVE")
        )
        arns = [a for p in pages for a in p["taskDefinitionArns"]]
    # familyPrefix is a prefix: keep only this exact family.
    return sorted(
        int(a.rsplit(":", 1)[1]) for a in arns if a.split("/")[-1].split(":")[0] == names.family
    )


def task_definition(names: StackNames, revision: int | None = None) -> dict | None:
    """Return one revision (default the latest ACTIVE) of the family, or None."""
    if revision is None:
        revs = revisions(names)
        if not revs:
            return None
        revision = revs[-1]
    with aws_errors(_what(names, "taskdef"), "ecs"):
        try:
            return _ecs().describe_task_definition(taskDefinition=f"{names.family}:{revision}")[
                "taskDefinition"
            ]
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("ClientException", "InvalidParameterException"):
                return None
            raise


def service_task_definition(names: StackNames) -> dict | None:
    """Return the task definition the service runs now, or None."""
    svc = find_service(names)
    if svc is None:
        return None
    with aws_errors(_what(names, "taskdef"), "ecs"):
        return _ecs().describe_task_definition(taskDefinition=svc["taskDefinition"])[
            "taskDefinition"
        ]


def image_uri(names: StackNames, image: str) -> str:
    """Return a full image URI: a bare tag becomes <repository URI>:<tag>."""
    if not image or any(ch.isspace() for ch in image):
        raise InvalidInput(f"image must be a tag or an image URI, got {image!r}")
    if "/" in image or "@" in image:
        return image
    tag = image.split(":", 1)[1] if image.startswith(f"{names.repository}:") else image
    from deploy import ecr

    repo = _optional(ecr.repository_uri, names) or (
        f"{account_id()}.dkr.ecr.{names.region}.amazonaws.com/{names.repository}"
    )
    return f"{repo}:{tag}"


def _lookups(names: StackNames, strict: bool) -> dict[str, str]:
    """Look up what the template needs; with strict=False a missing secret gets its name."""
    from deploy import iam, secrets

    account = account_id()
    secret = _optional(secrets.secret_arn, names)
    if secret is None:
        if strict:
            raise ResourceError(
                f"secret {names.secret} does not exist; run the secrets step of apply first"
            )
        # A partial ARN (no 6-character suffix) is what plan can show before the secret exists.
        secret = f"arn:aws:secretsmanager:{names.region}:{account}:secret:{names.secret}"
    return {
        "account_id": account,
        "secret_arn": secret,
        "execution_role_arn": _optional(iam.role_arn, names, "execution"),
        "task_role_arn": _optional(iam.role_arn, names, "task"),
    }


def desired_task_definition(
    names: StackNames, image: str | None = None, *, strict: bool = True
) -> dict:
    """Return the rendered template for `image` (default: the image running now, else :latest)."""
    if image is None:
        current = service_task_definition(names) or task_definition(names)
        image = taskdef.container(current)["image"] if current else image_uri(names, "latest")
    else:
        image = image_uri(names, image)
    return taskdef.render(names, image, **_lookups(names, strict))


def _subset(have: Any, want: Any) -> bool:
    """Return True when every value in `want` is present and equal in `have`."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_subset(have.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(have) == len(want)
            and all(_subset(h, w) for h, w in zip(have, want, strict=True))
        )
    return have == want


def grace_period_seconds(names: StackNames) -> int:
    """Return a grace period long enough for start-up plus the ALB's healthy threshold."""
    # ECS ignores ELB health results for this long after a task starts (errata 3: it does not
    # delay the checks). Cover the container's startPeriod plus the checks needed to turn healthy.
    start = taskdef.container(taskdef.load_template())["healthCheck"]["startPeriod"]
    tg = _target_group(names)
    interval = tg["HealthCheckIntervalSeconds"] if tg else _ALB_DEFAULT_INTERVAL
    healthy = tg["HealthyThresholdCount"] if tg else _ALB_DEFAULT_HEALTHY
    return start + interval * healthy


def _target_group(names: StackNames) -> dict | None:
    from deploy import alb

    return _optional(alb.find_target_group, names)


# ---------------------------------------------------------------- desired state


def _network(names: StackNames) -> dict | None:
    from deploy import network

    subnets = _optional(network.subnets, names)
    sg = _optional(network.security_group_id, names, which="task")
    if not subnets or not sg:
        return None
    ids = sorted(s["SubnetId"] if isinstance(s, dict) else s for s in subnets)
    # assignPublicIp ENABLED: the tasks sit in the default VPC's public subnets with no NAT, so
    # they need a public IP to reach ECR, Secrets Manager and CloudWatch Logs (errata 12: in
    # private subnets use a NAT gateway or VPC endpoints and DISABLED instead).
    return {
        "awsvpcConfiguration": {"subnets": ids, "securityGroups": [sg], "assignPublicIp": "ENABLED"}
    }


def _load_balancers(names: StackNames) -> list[dict] | None:
    tg = _target_group(names)
    if tg is None:
        return None
    return [
        {
            "targetGroupArn": tg["TargetGroupArn"],
            "containerName": names.container,
            "containerPort": names.container_port,
        }
    ]


def _service_settings(names: StackNames) -> dict:
    return {
        "deploymentConfiguration": DEPLOYMENT_CONFIGURATION,
        "healthCheckGracePeriodSeconds": grace_period_seconds(names),
        "networkConfiguration": _network(names),
        "loadBalancers": _load_balancers(names),
    }


def _current_settings(svc: dict) -> dict:
    net = svc.get("networkConfiguration") or {}
    if net.get("awsvpcConfiguration"):
        cfg = dict(net["awsvpcConfiguration"])
        cfg["subnets"] = sorted(cfg.get("subnets", []))
        net = {"awsvpcConfiguration": cfg}
    dc = svc.get("deploymentConfiguration") or {}
    return {
        "deploymentConfiguration": {k: dc.get(k) for k in DEPLOYMENT_CONFIGURATION} if dc else None,
        "healthCheckGracePeriodSeconds": svc.get("healthCheckGracePeriodSeconds"),
        "networkConfiguration": net or None,
        "loadBalancers": [
            {k: lb.get(k) for k in ("targetGroupArn", "containerName", "containerPort")}
            for lb in svc.get("loadBalancers", [])
        ]
        or None,
    }


# ---------------------------------------------------------------- plan / ensure


def _cluster(names: StackNames, apply: bool) -> Change:
    ecs = _ecs()
    found = find_cluster(names)
    if found is None:
        arn = None
        if apply:
            with aws_errors(_what(names, "cluster"), "ecs"):
                arn = ecs.create_cluster(
                    clusterName=names.cluster,
                    capacityProviders=CAPACITY_PROVIDERS,
                    defaultCapacityProviderStrategy=DEFAULT_STRATEGY,
                    settings=CLUSTER_SETTINGS,
                    tags=names.tag_list("key", "value"),
                )["cluster"]["clusterArn"]
        return Change("ecs-cluster", names.cluster, "create", {}, arn)
    have = {
        "capacityProviders": sorted(found.get("capacityProviders", [])),
        "defaultCapacityProviderStrategy": found.get("defaultCapacityProviderStrategy", []),
        "settings": found.get("settings", []),
        "tags": {t["key"]: t["value"] for t in found.get("tags", [])},
    }
    want = {
        "capacityProviders": sorted(CAPACITY_PROVIDERS),
        "defaultCapacityProviderStrategy": DEFAULT_STRATEGY,
        "settings": CLUSTER_SETTINGS,
        "tags": {**have["tags"], **names.tags},
    }
    changes = diff(have, want)
    if apply and changes:
        with aws_errors(_what(names, "cluster"), "ecs"):
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
    return Change("ecs-cluster", names.cluster, action, changes, found["clusterArn"])


def _register(names: StackNames, td: dict) -> dict:
    with aws_errors(_what(names, "taskdef"), "ecs"):
        return _ecs().register_task_definition(**td, tags=names.tag_list("key", "value"))[
            "taskDefinition"
        ]


def _task_definition(
    names: StackNames, image: str | None, apply: bool
) -> tuple[Change, str | None]:
    want = desired_task_definition(names, image, strict=apply)
    current = service_task_definition(names) or task_definition(names)
    if current is not None and _subset(current, want):
        arn = current["taskDefinitionArn"]
        return Change(
            "task-definition", names.family, "unchanged", {"revision": current["revision"]}, arn
        ), arn
    detail = {"image": taskdef.container(want)["image"]}
    if not apply:
        return Change(
            "task-definition", names.family, "create" if current is None else "update", detail
        ), None
    registered = _register(names, want)
    detail["revision"] = registered["revision"]
    action = "create" if current is None else "update"
    return Change(
        "task-definition", names.family, action, detail, registered["taskDefinitionArn"]
    ), registered["taskDefinitionArn"]


def _service(names: StackNames, td_arn: str | None, apply: bool, desired_count: int) -> Change:
    ecs = _ecs()
    want = _service_settings(names)
    missing = [k for k in ("networkConfiguration", "loadBalancers") if want[k] is None]
    svc = find_service(names)
    if svc is None:
        if not apply:
            return Change("ecs-service", names.service, "create", {"desiredCount": desired_count})
        if missing:
            raise ResourceError(
                f"{_what(names)} needs the network and the ALB first (missing: {', '.join(missing)})"
            )
        with aws_errors(_what(names), "ecs"):
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
            # moto's create_service drops deploymentConfiguration and
            # healthCheckGracePeriodSeconds (they come back null; reference/emulators.md), while
            # update_service stores them. Repeating them here is harmless on AWS and makes the
            # emulator hold what AWS would, so the next plan is "unchanged".
            ecs.update_service(
                cluster=names.cluster,
                service=names.service,
                deploymentConfiguration=want["deploymentConfiguration"],
                healthCheckGracePeriodSeconds=want["healthCheckGracePeriodSeconds"],
            )
        return Change(
            "ecs-service",
            names.service,
            "create",
            {"desiredCount": desired_count},
            created["serviceArn"],
        )
    have = _current_settings(svc)
    changes = {k: v for k, v in diff(have, want).items() if want[k] is not None}
    if td_arn and svc["taskDefinition"] != td_arn:
        changes["taskDefinition"] = (svc["taskDefinition"], td_arn)
    tags = {t["key"]: t["value"] for t in svc.get("tags", [])}
    tag_changes = {k: v for k, v in names.tags.items() if tags.get(k) != v}
    if tag_changes:
        changes["tags"] = (tags, names.tags)
    if apply and changes:
        update = {k: want[k] for k in changes if k in want}
        if "taskDefinition" in changes:
            update["taskDefinition"] = td_arn
        with aws_errors(_what(names), "ecs"):
            if update:
                ecs.update_service(cluster=names.cluster, service=names.service, **update)
            if tag_changes:
                ecs.tag_resource(resourceArn=svc["serviceArn"], tags=names.tag_list("key", "value"))
    action = "update" if changes else "unchanged"
    return Change("ecs-service", names.service, action, changes, svc["serviceArn"])


def _converge(
    names: StackNames, image: str | None, desired_count: int, apply: bool
) -> list[Change]:
    if isinstance(desired_count, bool) or not isinstance(desired_count, int) or desired_count < 0:
        raise InvalidInput(f"desired_count must be a whole number >= 0, got {desired_count!r}")
    cluster = _cluster(names, apply)
    td_change, td_arn = _task_definition(names, image, apply)
    service = _service(names, td_arn, apply, desired_count)
    return [cluster, td_change, service]


def plan(names: StackNames, *, image: str | None = None, desired_count: int = 1) -> list[Change]:
    """Return what ensure would do to the cluster, the task definition and the service."""
    return _converge(names, image, desired_count, apply=False)


def ensure(names: StackNames, *, image: str | None = None, desired_count: int = 1) -> list[Change]:
    """Create or converge cluster, task definition and service (desired_count only on create)."""
    return _converge(names, image, desired_count, apply=True)


# ---------------------------------------------------------------- operations


def _require_service(names: StackNames) -> dict:
    svc = find_service(names)
    if svc is None:
        raise ResourceError(f"{_what(names)} does not exist; run `workbook stack apply` first")
    return svc


def deploy(names: StackNames, image: str) -> Change:
    """Register a revision with `image` (a tag or a URI) and point the service at it."""
    _require_service(names)
    td_change, td_arn = _task_definition(names, image, apply=True)
    svc_change = _service(names, td_arn, apply=True, desired_count=1)
    detail = {**td_change.detail, "service": svc_change.action}
    return Change("ecs-service", names.service, svc_change.action, detail, td_arn)


def redeploy(names: StackNames) -> Change:
    """Start fresh tasks from the same revision (e.g. to pick up a rotated secret, errata 9)."""
    svc = _require_service(names)
    with aws_errors(_what(names), "ecs"):
        _ecs().update_service(cluster=names.cluster, service=names.service, forceNewDeployment=True)
    return Change(
        "ecs-service", names.service, "update", {"forceNewDeployment": True}, svc["serviceArn"]
    )


def rollback(names: StackNames, revision: int) -> Change:
    """Point the service back at an earlier ACTIVE revision of the family."""
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        raise InvalidInput(f"revision must be a whole number >= 1, got {revision!r}")
    svc = _require_service(names)
    known = revisions(names)
    if revision not in known:
        raise InvalidInput(
            f"unknown revision {revision} of task family {names.family}; "
            f"ACTIVE revisions: {', '.join(map(str, known)) or 'none'}"
        )
    arn = f"arn:aws:ecs:{names.region}:{account_id()}:task-definition/{names.family}:{revision}"
    with aws_errors(_what(names), "ecs"):
        _ecs().update_service(cluster=names.cluster, service=names.service, taskDefinition=arn)
    return Change(
        "ecs-service",
        names.service,
        "update",
        {"from": svc["taskDefinition"], "revision": revision},
        arn,
    )


def scale(names: StackNames, count: int) -> Change:
    """Set the service's desired count (auto scaling may move it back inside its min/max)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidInput(f"desired count must be a whole number >= 0, got {count!r}")
    svc = _require_service(names)
    with aws_errors(_what(names), "ecs"):
        _ecs().update_service(cluster=names.cluster, service=names.service, desiredCount=count)
    return Change(
        "ecs-service",
        names.service,
        "update" if svc["desiredCount"] != count else "unchanged",
        {"desiredCount": (svc["desiredCount"], count)},
        svc["serviceArn"],
    )


def wait_stable(names: StackNames, *, timeout: float = 600, delay: float = 15) -> dict:
    """Wait until the service is stable (one deployment, running == desired); return it."""
    _require_service(names)
    attempts = max(1, math.ceil(timeout / delay))
    waiter = _ecs().get_waiter("services_stable")
    try:
        waiter.wait(
            cluster=names.cluster,
            services=[names.service],
            WaiterConfig={"Delay": delay, "MaxAttempts": attempts},
        )
    except WaiterError as exc:
        # "ServiceNotStable" is this waiter giving up, not an ECS error (errata 21).
        raise ResourceError(f"{_what(names)} was not stable after {timeout:g} s: {exc}") from exc
    return find_service(names)


def deployments(names: StackNames) -> list[dict]:
    """Return the service's deployments (status, rollout state, revision, counts)."""
    svc = find_service(names)
    if svc is None:
        return []
    return [
        {
            "id": d["id"],
            "status": d["status"],
            "rolloutState": d.get("rolloutState"),
            "revision": int(d["taskDefinition"].rsplit(":", 1)[1]),
            "desired": d.get("desiredCount"),
            "running": d.get("runningCount"),
            "failed": d.get("failedTasks", 0),
        }
        for d in svc.get("deployments", [])
    ]


def describe(names: StackNames) -> dict:
    """Return the cluster, service and current task definition as plain data."""
    cluster, svc = find_cluster(names), find_service(names)
    td = service_task_definition(names) if svc else task_definition(names)
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
            "revision": int(svc["taskDefinition"].rsplit(":", 1)[1]),
            "deploymentConfiguration": svc.get("deploymentConfiguration"),
            "healthCheckGracePeriodSeconds": svc.get("healthCheckGracePeriodSeconds"),
            "deployments": deployments(names),
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
        "revisions": revisions(names),
    }


def delete(names: StackNames) -> list[Change]:
    """Delete the service, deregister and delete every revision, then delete the cluster."""
    ecs, changes = _ecs(), []
    svc = find_service(names)
    if svc is None:
        changes.append(Change("ecs-service", names.service, "absent"))
    else:
        with aws_errors(_what(names), "ecs"):
            ecs.update_service(cluster=names.cluster, service=names.service, desiredCount=0)
            ecs.delete_service(cluster=names.cluster, service=names.service, force=True)
            # A DRAINING service (tasks still stopping) blocks delete_cluster on AWS.
            ecs.get_waiter("services_inactive").wait(
                cluster=names.cluster,
                services=[names.service],
                WaiterConfig={"Delay": 5, "MaxAttempts": 120},
            )
        changes.append(Change("ecs-service", names.service, "delete", {}, svc["serviceArn"]))
    revs = revisions(names)
    if not revs:
        changes.append(Change("task-definition", names.family, "absent"))
    else:
        arns = [f"{names.family}:{r}" for r in revs]
        with aws_errors(_what(names, "taskdef"), "ecs"):
            for arn in arns:
                ecs.deregister_task_definition(taskDefinition=arn)
            # An INACTIVE revision still exists (and keeps its tags) until it is deleted.
            for start in range(0, len(arns), 10):  # the API takes at most 10 at a time
                ecs.delete_task_definitions(taskDefinitions=arns[start : start + 10])
        changes.append(Change("task-definition", names.family, "delete", {"revisions": revs}))
    cluster = find_cluster(names)
    if cluster is None:
        changes.append(Change("ecs-cluster", names.cluster, "absent"))
    else:
        with aws_errors(_what(names, "cluster"), "ecs"):
            ecs.delete_cluster(cluster=names.cluster)
        changes.append(Change("ecs-cluster", names.cluster, "delete", {}, cluster["clusterArn"]))
    return changes
