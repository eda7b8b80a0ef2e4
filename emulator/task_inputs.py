"""What a task reads as it starts: its secrets (Secrets Manager or SSM) and its image in ECR.

The ECS agent (emulator.tasks) resolves these in PENDING; a failure stops the task with the
Fargate agent's own wording (`ResourceInitializationError`, `CannotPullContainerError`).
"""

from __future__ import annotations

import json

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


class SecretError(Exception):
    """A secret could not be read; the message is ECS's stopped reason."""


def resolve_secret(value_from: str, account: str, region: str) -> str:
    """Return the value a container secret's `valueFrom` names (Secrets Manager or SSM)."""
    if value_from.startswith("arn:") and ":secretsmanager:" in value_from:
        return _secrets_manager(value_from)
    return _parameter_store(value_from, account, region)


def _secrets_manager(value_from: str) -> str:
    # arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json-key>:<stage>:<version-id>]
    parts = value_from.split(":")
    if len(parts) not in (7, 10) or parts[5] != "secret":
        raise SecretError(
            f"{ASM_PREFIX}trying to retrieve secret with value {value_from} resulted in error: "
            "an invalid ARN format for the AWS Secrets Manager secret was specified"
        )
    arn, (key, stage, version) = ":".join(parts[:7]), (parts[7:] or ["", "", ""])
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
