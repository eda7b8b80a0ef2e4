"""What the ECS service and its task definition should be, computed from their inputs (pure)."""

from __future__ import annotations

from typing import Any

from deploy.aws.errors import InvalidInput, ResourceError
from deploy.aws.names import StackNames
from deploy.resources import taskdef
from deploy.resources.contract import UNKNOWN, known, require
from deploy.resources.outputs import (
    AlbOutputs,
    EcrOutputs,
    IamOutputs,
    LogsOutputs,
    NetworkOutputs,
    SecretOutputs,
    StateOutputs,
)
from service.aws import AwsContext

# Rolling update: start the new task before stopping the old one (100 % stays healthy, up to
# 200 % run during the swap). The circuit breaker counts failed *tasks*, threshold
# 0.5 x desired with a floor of 3 (errata 1; deploy.models.rollout models it), then rolls back.
DEPLOYMENT_CONFIGURATION = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
}
# AWS's target-group defaults, for an AlbOutputs that carries no health-check settings.
ALB_DEFAULT_INTERVAL_S, ALB_DEFAULT_HEALTHY = 30, 5


def check_image(image: object) -> str:
    if not isinstance(image, str) or not image or any(ch.isspace() for ch in image):
        raise InvalidInput(f"image must be a tag or an image URI, got {image!r}")
    return image


def image_uri(repository_uri: str, image: str) -> str:
    """Return a full image URI: a bare tag (or name@digest) joins the repository; a URI stays."""
    if "/" in check_image(image):
        return image
    if "@" in image:  # <name>@sha256:...: the repository's own name joins it, others stay
        name, digest = image.split("@", 1)
        own = known(repository_uri) and name == repository_uri.rsplit("/", 1)[-1]
        return f"{repository_uri}@{digest}" if own else image
    if not known(repository_uri):
        return UNKNOWN
    name = repository_uri.rsplit("/", 1)[-1]
    tag = image.split(":", 1)[1] if image.startswith(f"{name}:") else image
    return f"{repository_uri}:{tag}"


def repository_of(uri: str) -> str:
    """Return an image URI without its tag or digest (the repository it came from)."""
    uri = uri.split("@", 1)[0]
    head, _, last = uri.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def grace_period_seconds(alb: AlbOutputs) -> int:
    """Return a grace period long enough for start-up plus the ALB's healthy threshold."""
    # ECS ignores ELB health results for this long after a task starts (errata 3: it does not
    # delay the checks). Cover the container's startPeriod plus the checks needed to turn healthy.
    start = taskdef.container(taskdef.load_template())["healthCheck"]["startPeriod"]
    check = alb.health_check or {}
    interval = check.get("HealthCheckIntervalSeconds", ALB_DEFAULT_INTERVAL_S)
    healthy = check.get("HealthyThresholdCount", ALB_DEFAULT_HEALTHY)
    return start + interval * healthy


def service_settings(names: StackNames, network: NetworkOutputs, alb: AlbOutputs) -> dict:
    """Return the service fields ensure keeps: rollout, grace period, network, load balancer."""
    subnets = network.subnet_ids
    # assignPublicIp ENABLED: the tasks sit in the default VPC's public subnets with no NAT, so
    # they need a public IP to reach ECR, Secrets Manager and CloudWatch Logs (errata 12: in
    # private subnets use a NAT gateway or VPC endpoints and DISABLED instead).
    vpc = {
        "subnets": sorted(subnets) if known(subnets) else [UNKNOWN],
        "securityGroups": [network.task_security_group_id],
        "assignPublicIp": "ENABLED",
    }
    return {
        "deploymentConfiguration": DEPLOYMENT_CONFIGURATION,
        "healthCheckGracePeriodSeconds": grace_period_seconds(alb),
        "networkConfiguration": {"awsvpcConfiguration": vpc},
        "loadBalancers": [
            {
                "targetGroupArn": alb.target_group_arn,
                "containerName": names.container,
                "containerPort": names.container_port,
            }
        ],
    }


def current_settings(svc: dict) -> dict:
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


def render(
    ctx: AwsContext,
    names: StackNames,
    image: str,
    secrets: SecretOutputs,
    iam: IamOutputs,
    logs: LogsOutputs,
    state: StateOutputs | None = None,
) -> dict | None:
    """Return the rendered template, or None while an input is only known after apply."""
    needed = (image, secrets.arn, iam.execution_role_arn, iam.task_role_arn, logs.log_group)
    if not all(known(v) for v in needed):
        return None
    shared = {}  # where the tasks keep documents and history, as the state resources say
    if state is not None and known(state.bucket) and known(state.table_arn):
        shared = {"DOCUMENT_BUCKET": state.bucket, "CHAT_HISTORY_TABLE": table_name(state)}
    return taskdef.render(
        names,
        image,
        region=ctx.region,
        secret_arn=secrets.arn,
        execution_role_arn=iam.execution_role_arn,
        task_role_arn=iam.task_role_arn,
        log_group=logs.log_group,
        environment=shared,
    )


def table_name(state: StateOutputs) -> str:
    """Return the history table's name from its ARN (arn:...:table/NAME)."""
    return state.table_arn.rsplit("/", 1)[-1]


def desired_task_definition(
    ctx: AwsContext,
    names: StackNames,
    image: str,
    *,
    secrets: SecretOutputs,
    iam: IamOutputs,
    ecr: EcrOutputs,
    logs: LogsOutputs,
) -> dict:
    """Return the task definition ensure would register for `image` (a tag or a URI)."""
    uri = image_uri(
        require("the ECR repository", f"ECS service {names.service}", ecr.repository_uri), image
    )
    td = render(ctx, names, uri, secrets, iam, logs)
    if td is None:
        raise ResourceError(
            f"ECS service {names.service} needs the secret, the IAM roles and the log group"
        )
    return td


def subset(have: Any, want: Any) -> bool:
    """Return True when every value in `want` is present and equal in `have`."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(subset(have.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(have) == len(want)
            and all(subset(h, w) for h, w in zip(have, want, strict=True))
        )
    return have == want
