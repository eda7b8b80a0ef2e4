"""What a task needs as it starts: its secrets, its image in ECR, a way to ECR, its role's grants.

The ECS agent (emulator.tasks) resolves these in PENDING; a failure stops the task with the
Fargate agent's own wording (`ResourceInitializationError`, `CannotPullContainerError`). The
way to ECR is a model judged from the VPC's routes (`ecr_reachable`); the execution role's
grants are judged by moto's own IAM policy evaluator (`role_allows`).
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.ecr.models import ecr_backends
from moto.secretsmanager.models import secretsmanager_backends

from emulator.engine import EcrImage, ImageRef

# The Fargate agent's words when a secret cannot be read, e.g. "ResourceInitializationError:
# unable to pull secrets or registry auth: execution resource retrieval failed: unable to
# retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret
# <arn> from secrets manager: ResourceNotFoundException: Secrets Manager can't find the
# specified secret." (amazon-ecs-agent, agent/asm/asm.go, as Fargate reports it).
SECRETS_PREFIX = (
    "ResourceInitializationError: unable to pull secrets or registry auth: "
    "execution resource retrieval failed: "
)
ASM_PREFIX = (
    SECRETS_PREFIX + "unable to retrieve secret from asm: service call has been retried 1 time(s): "
)
SSM_PREFIX = (
    SECRETS_PREFIX
    + "unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
)
READ_SECRET = "secretsmanager:GetSecretValue"
# IAM's wording for an action no policy allows, as AWS services pass it on.
DENIED = (
    "AccessDeniedException: User: {session} is not authorized to perform: {action} on "
    "resource: {arn} because no identity-based policy allows the {action} action"
)


def session_arn(role_arn: str, task_id: str) -> str:
    """Return the ARN the agent acts as: a session of the role, named after the task."""
    assumed = role_arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")
    return f"{assumed}/{task_id or 'ecs-agent'}"


class SecretError(Exception):
    """A secret could not be read; the message is ECS's stopped reason."""


def resolve_secret(
    value_from: str, account: str, region: str, execution_role: str | None = None, task_id: str = ""
) -> str:
    """Return the value a container secret's `valueFrom` names (Secrets Manager or SSM).

    With `execution_role`, a Secrets Manager secret is read only if that role may
    `secretsmanager:GetSecretValue` on it: the agent reads secrets as the execution role
    (ECS developer guide, "Pass Secrets Manager secrets through Amazon ECS environment
    variables"). Parameter Store reads are not judged.
    """
    if value_from.startswith("arn:") and ":secretsmanager:" in value_from:
        return _secrets_manager(value_from, execution_role, task_id)
    return _parameter_store(value_from, account, region)


def _secrets_manager(value_from: str, execution_role: str | None, task_id: str) -> str:
    # arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json-key>:<stage>:<version-id>]
    parts = value_from.split(":")
    if len(parts) not in (7, 10) or parts[5] != "secret":
        raise SecretError(
            f"{ASM_PREFIX}trying to retrieve secret with value {value_from} resulted in error: "
            "an invalid ARN format for the AWS Secrets Manager secret was specified"
        )
    arn, (key, stage, version) = ":".join(parts[:7]), (parts[7:] or ["", "", ""])
    if execution_role and role_allows(execution_role, READ_SECRET, arn) is False:
        denied = DENIED.format(
            session=session_arn(execution_role, task_id), action=READ_SECRET, arn=arn
        )
        raise SecretError(
            f"{ASM_PREFIX}failed to fetch secret {arn} from secrets manager: {denied}"
        )
    backend = secretsmanager_backends[parts[4]][parts[3]]
    try:
        value = backend.get_secret_value(arn, version or None, stage or None)
    except JsonRESTError as exc:  # moto raises AWS's code and message
        raise SecretError(
            f"{ASM_PREFIX}failed to fetch secret {arn} from secrets manager: "
            f"{exc.error_type}: {exc.message}"
        ) from None
    text = value.get("SecretString", "")
    if not key:
        return text
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict) or key not in document:
        raise SecretError(
            f"{ASM_PREFIX}retrieved secret from Secrets Manager did not contain json key {key}"
        )
    found = document[key]
    return found if isinstance(found, str) else json.dumps(found)


def _parameter_store(value_from: str, account: str, region: str) -> str:
    # Imported on first use: only a task naming an SSM parameter needs moto's SSM (~0.3 s).
    from moto.ssm.models import ssm_backends

    name = value_from
    if value_from.startswith("arn:"):  # arn:aws:ssm:<region>:<account>:parameter/<name>
        parts = value_from.split(":", 5)
        region, account = parts[3], parts[4]
        name = parts[5].removeprefix("parameter")
        name = name if name.startswith("/") and name.count("/") > 1 else name.lstrip("/")
    parameter = ssm_backends[account][region].get_parameter(name)
    if parameter is None:
        raise SecretError(f"{SSM_PREFIX}invalid parameters: {name}")
    return parameter.value


def ecr_image(image: ImageRef) -> EcrImage | None:
    """Return what moto's ECR holds for an ECR image's tag or digest (None: nothing)."""
    if not image.account or not image.region:
        return None
    repository = ecr_backends[image.account][image.region].repositories.get(image.name)
    for held in repository.images if repository else []:
        digest = held.get_image_digest()
        if (image.digest and digest == image.digest) or (
            not image.digest and (image.tag or "latest") in held.image_tags
        ):
            return EcrImage(digest, tuple(held.image_tags))
    return None


def role_documents(role_arn: str | None) -> list[Any] | None:
    """Return a role's inline and attached managed policies as moto holds them (None: no role)."""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    if not role_arn or ":role/" not in role_arn:
        return None
    try:
        role = iam_backends[role_arn.split(":")[4]]["global"].get_role_by_arn(role_arn)
    except NotFoundException:  # not in this emulated account: nothing to judge
        return None
    return [*role.policies.values(), *role.managed_policies.values()]


def decision(documents: list[Any], action: str, resource: str) -> str:
    """Return IAM's decision on `action` over `resource`: allowed, explicitDeny or implicitDeny.

    moto's own policy evaluator (moto.iam.access_control) reads each identity-based policy:
    an explicit Deny wins, otherwise one Allow is enough, as in IAM's evaluation logic.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult

    results = [IAMPolicy(d).is_action_permitted(action, resource) for d in documents]
    if PermissionResult.DENIED in results:
        return "explicitDeny"
    return "allowed" if PermissionResult.PERMITTED in results else "implicitDeny"


def role_allows(role_arn: str | None, action: str, resource: str) -> bool | None:
    """Say whether the IAM role's policies allow `action` on `resource` (None: role not held)."""
    documents = role_documents(role_arn)
    if documents is None:
        return None
    return decision(documents, action, resource) == "allowed"


# A model of reachability, not a packet test (the local data plane pulls from this machine).
# A Fargate task reaches ECR (and Secrets Manager, CloudWatch Logs) over its ENI, through one of:
# - an internet gateway: a 0.0.0.0/0 route to igw-* AND assignPublicIp ENABLED (ECS developer
#   guide, "Amazon ECS task networking options for Fargate");
# - a NAT gateway: a 0.0.0.0/0 route to nat-*;
# - VPC endpoints: the interface endpoints ecr.api and ecr.dkr plus the S3 gateway endpoint
#   for the image layers (ECR user guide, "Amazon ECR interface VPC endpoints").
# Without one, the agent's first call (registry auth) times out, worded as AWS's re:Post article
# "ecs-unable-to-pull-secrets" shows it; the address in it is a stand-in.
UNREACHABLE = (
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
    "retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 "
    'time(s): RequestError: send request failed caused by: Post "https://api.ecr.{region}.'
    'amazonaws.com/": dial tcp 10.0.0.1:443: i/o timeout'
)
ENDPOINTS = (".ecr.api", ".ecr.dkr", ".s3")  # every one is needed without a gateway route


def ecr_reachable(network: dict | None, account: str, region: str) -> bool:
    """Say whether every subnet a task may be placed in has a way to ECR (the model above).

    A task lands in one of the listed subnets; the model asks it of all of them, so a
    service that lists a private subnet fails whichever task lands there. A subnet moto does
    not hold, or no subnet at all, is not judged (True).
    """
    from moto.ec2.exceptions import InvalidSubnetIdError
    from moto.ec2.models import ec2_backends

    config = (network or {}).get("awsvpcConfiguration") or {}
    public_ip = str(config.get("assignPublicIp", "DISABLED")).upper() == "ENABLED"
    ec2 = ec2_backends[account][region]
    for subnet_id in config.get("subnets") or []:
        try:
            subnet = ec2.get_subnet(subnet_id)
        except InvalidSubnetIdError:  # not in this emulated account: nothing to judge
            continue
        if not _has_way_out(ec2, subnet, public_ip):
            return False
    return True


def _has_way_out(ec2: Any, subnet: Any, public_ip: bool) -> bool:
    """Say whether one subnet reaches ECR: endpoints in its VPC, or a default route that works."""
    services = {e.service_name for e in ec2.vpc_end_points.values() if e.vpc_id == subnet.vpc_id}
    if all(any(s.endswith(suffix) for s in services) for suffix in ENDPOINTS):
        return True
    tables = [t for t in ec2.route_tables.values() if t.vpc_id == subnet.vpc_id]
    # A subnet uses the table it is associated with, else its VPC's main table.
    table = next((t for t in tables if subnet.id in t._associations.values()), None)
    table = table or next((t for t in tables if t.main_association_id), None)
    for route in table.routes if table else []:
        if route.destination_cidr_block != "0.0.0.0/0":
            continue
        if route.nat_gateway is not None:
            return True
        if public_ip and route.gateway is not None and route.gateway.id.startswith("igw-"):
            return True
    return False
