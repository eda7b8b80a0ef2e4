"""Render and check the task definition template (deploy/task-definition.json).

The JSON file is the one source of truth: the stack code renders it here, and the CI workflow
fills the same placeholders (<ACCOUNT_ID>, <REGION>, <SECRET_ARN>) with `sed` before GitHub's
render action swaps in "<IMAGE>". Placeholders:
- <IMAGE>       the image URI, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/llmops:<sha>
- <ACCOUNT_ID>  the account in the two role ARNs
- <REGION>      the awslogs region
- <SECRET_ARN>  the secret's FULL ARN including its 6-character suffix; each `valueFrom` adds
                `:<json-key>::` (errata 8: single colons separate json-key, version stage and
                version id; the trailing `::` just leaves the last two empty)
moto's register_task_definition validates nothing (localstack/README.md), so Fargate's
CPU/memory table is checked here before any call, as Fargate itself would.

The container's root filesystem is read-only (`readonlyRootFilesystem`); the service writes
only to DATA_DIR (sessions, indexes, the S3 snapshot cache) and /tmp (index builds), so each
is a task-level bind-mount volume (Fargate ephemeral storage, 20 GiB shared by default) and
`check` refuses a definition where either is not writable. Fargate copies the image's content
into such a volume only when the Dockerfile declares the same path as a `VOLUME` (Amazon ECS
Developer Guide, "Use bind mounts with Amazon ECS").
"""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path

from deploy.aws.errors import InvalidInput
from deploy.aws.names import StackNames

# deploy/task-definition.json: the CI workflow reads the same file (TASK_DEFINITION in aws.yml).
TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "task-definition.json"
PLACEHOLDERS = ("<IMAGE>", "<ACCOUNT_ID>", "<REGION>", "<SECRET_ARN>")
# Plain, non-secret configuration the container may receive in `environment`.
# Plain settings only; the bucket and table names let several tasks share documents and
# history (S3, DynamoDB) instead of each keeping its own on its disk.
ALLOWED_ENVIRONMENT = (
    "ENV", "PORT", "LOG_LEVEL", "LLM_PROVIDER", "DATA_DIR", "DOCUMENT_BUCKET", "CHAT_HISTORY_TABLE"
)  # fmt: skip
DATA_VOLUME = "data"  # the volume mounted at DATA_DIR
TMP_DIR = "/tmp"  # tempfile's directory: index builds write there
_SECRET_LIKE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
MAX_STOP_TIMEOUT = 120  # seconds; ECS refuses more on Fargate (errata "verified correct")
MAX_START_PERIOD = 300  # seconds; container healthCheck.startPeriod range is 0-300

# Fargate task sizes (Linux, platform 1.4.0): cpu units -> (min, max, step) memory in MiB.
# Source: docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html
_GIB = 1024
FARGATE_SIZES: dict[int, tuple[int, int, int]] = {
    256: (512, 2 * _GIB, 0),  # only 512, 1024, 2048
    512: (1 * _GIB, 4 * _GIB, _GIB),
    1024: (2 * _GIB, 8 * _GIB, _GIB),
    2048: (4 * _GIB, 16 * _GIB, _GIB),
    4096: (8 * _GIB, 30 * _GIB, _GIB),
    8192: (16 * _GIB, 60 * _GIB, 4 * _GIB),
    16384: (32 * _GIB, 120 * _GIB, 8 * _GIB),
}
_CPU_256_MEMORY = (512, 1024, 2048)


class TaskDefinitionError(InvalidInput):
    """The task definition is one Fargate would refuse or one that leaks a secret."""


def valid_memory(cpu: int) -> list[int]:
    """Return every memory size (MiB) Fargate accepts with `cpu` units."""
    if cpu not in FARGATE_SIZES:
        raise TaskDefinitionError(
            f"Fargate has no task cpu {cpu}; choose one of {', '.join(map(str, FARGATE_SIZES))}"
        )
    if cpu == 256:
        return list(_CPU_256_MEMORY)
    low, high, step = FARGATE_SIZES[cpu]
    return list(range(low, high + 1, step))


def memory_range_text(cpu: int) -> str:
    """Describe the valid memory for `cpu` in words, e.g. '2048-8192 MiB in steps of 1024'."""
    if cpu == 256:
        return "512, 1024 or 2048 MiB"
    low, high, step = FARGATE_SIZES[cpu]
    return f"{low}-{high} MiB in steps of {step}"


def validate_size(cpu: int | str, memory: int | str) -> None:
    """Raise TaskDefinitionError unless Fargate accepts this task cpu/memory pair."""
    try:
        cpu_units, memory_mib = int(cpu), int(memory)
    except (TypeError, ValueError):
        raise TaskDefinitionError(
            f"cpu and memory must be whole numbers (units, MiB), got {cpu!r}/{memory!r}"
        ) from None
    allowed = valid_memory(cpu_units)
    if memory_mib not in allowed:
        raise TaskDefinitionError(
            f"Fargate refuses cpu {cpu_units} with memory {memory_mib} MiB: with cpu "
            f"{cpu_units} the memory must be {memory_range_text(cpu_units)}"
        )


@lru_cache(maxsize=1)
def _template_text() -> str:
    return TEMPLATE_PATH.read_text(encoding="utf-8")


def load_template() -> dict:
    """Return a fresh copy of the template, placeholders still in place."""
    return json.loads(_template_text())


def container(td: dict) -> dict:
    """Return the (single) container definition of a task definition."""
    return td["containerDefinitions"][0]


def render(
    names: StackNames,
    image: str,
    *,
    region: str,
    account_id: str | None = None,
    secret_arn: str,
    execution_role_arn: str | None = None,
    task_role_arn: str | None = None,
    log_group: str | None = None,
    cpu: str | int | None = None,
    memory: str | int | None = None,
    environment: dict[str, str] | None = None,
) -> dict:
    """Return the template filled in for `names` (pure: every lookup is passed in)."""
    # The role ARNs default to the template's roles in `account_id`, which is what the
    # workflow's `sed` fills in; pass either the account or both ARNs.
    if not image or "<" in image:
        raise TaskDefinitionError(f"image must be a real image URI, got {image!r}")
    if not region:
        raise TaskDefinitionError("region is required (the awslogs driver's region)")
    if account_id is None and not (execution_role_arn and task_role_arn):
        raise TaskDefinitionError("pass account_id or both role ARNs to fill the task roles")
    td = copy.deepcopy(load_template())
    td["family"] = names.family
    td["cpu"], td["memory"] = str(cpu or names.cpu), str(memory or names.memory)
    validate_size(td["cpu"], td["memory"])
    td["executionRoleArn"] = execution_role_arn or (
        f"arn:aws:iam::{account_id}:role/{names.execution_role}"
    )
    td["taskRoleArn"] = task_role_arn or f"arn:aws:iam::{account_id}:role/{names.task_role}"
    c = container(td)
    c["name"], c["image"] = names.container, image
    port = names.container_port
    c["portMappings"][0]["containerPort"] = port
    account = account_id or td["executionRoleArn"].split(":")[4]
    env = {e["name"]: e["value"] for e in c["environment"]}
    env.update(
        {
            "PORT": str(port),
            "DOCUMENT_BUCKET": names.bucket(account, region),
            "CHAT_HISTORY_TABLE": names.history_table,
            **(environment or {}),
        }
    )
    c["environment"] = [{"name": k, "value": v} for k, v in env.items()]
    for mount in c.get("mountPoints", []):  # the data volume follows DATA_DIR
        if mount["sourceVolume"] == DATA_VOLUME and env.get("DATA_DIR"):
            mount["containerPath"] = env["DATA_DIR"]
    for s in c["secrets"]:
        s["valueFrom"] = s["valueFrom"].replace("<SECRET_ARN>", secret_arn)
    options = c["logConfiguration"]["options"]
    options["awslogs-group"], options["awslogs-region"] = log_group or names.log_group, region
    cmd = c["healthCheck"]["command"]
    cmd[-1] = re.sub(r"127\.0\.0\.1:\d+/\S*?'", f"127.0.0.1:{port}{names.health_path}'", cmd[-1])
    check(td)
    return td


def check(td: dict) -> None:
    """Raise TaskDefinitionError for what Fargate refuses, a leaked secret or a writable root."""
    text = json.dumps(td)
    left = [p for p in PLACEHOLDERS if p in text]
    if left:
        raise TaskDefinitionError(f"unfilled placeholder(s) {', '.join(left)} in task definition")
    if td.get("networkMode") != "awsvpc":
        raise TaskDefinitionError("Fargate requires networkMode awsvpc")
    validate_size(td.get("cpu"), td.get("memory"))
    c = container(td)
    for entry in c.get("environment", []):
        name = entry["name"]
        if name not in ALLOWED_ENVIRONMENT or _SECRET_LIKE.search(name):
            raise TaskDefinitionError(
                f"environment variable {name!r} is not allowed in plain `environment` (visible "
                f"to anyone who can describe the task definition); allowed: "
                f"{', '.join(ALLOWED_ENVIRONMENT)}; put secrets under `secrets` with valueFrom"
            )
    for s in c.get("secrets", []):
        if not s.get("valueFrom", "").startswith(("arn:aws:secretsmanager:", "arn:aws:ssm:")):
            raise TaskDefinitionError(f"secret {s.get('name')!r} needs a valueFrom ARN")
    hc = c.get("healthCheck") or {}
    if any("curl" in part or "wget" in part for part in hc.get("command", [])):
        # errata 16: python:3.12-slim ships neither; the check would always fail.
        raise TaskDefinitionError("healthCheck uses curl/wget, which the slim image lacks")
    if not 0 < hc.get("startPeriod", 0) <= MAX_START_PERIOD:
        raise TaskDefinitionError(f"healthCheck.startPeriod must be 1-{MAX_START_PERIOD} s")
    if c.get("stopTimeout", 30) > MAX_STOP_TIMEOUT:
        raise TaskDefinitionError(f"stopTimeout may be at most {MAX_STOP_TIMEOUT} s on Fargate")
    _check_filesystem(td)


def writable_paths(td: dict) -> dict[str, str]:
    """Return {container path: volume name} for the container's writable mount points."""
    return {
        m["containerPath"]: m["sourceVolume"]
        for m in container(td).get("mountPoints", [])
        if not m.get("readOnly", False)
    }


def _check_filesystem(td: dict) -> None:
    c = container(td)
    if c.get("readonlyRootFilesystem") is not True:
        raise TaskDefinitionError(
            "readonlyRootFilesystem must be true: the service writes only to DATA_DIR and "
            f"{TMP_DIR}, which are volumes"
        )
    volumes = {v.get("name") for v in td.get("volumes", [])}
    unknown = sorted({m.get("sourceVolume") for m in c.get("mountPoints", [])} - volumes)
    if unknown:  # ECS refuses a mount point whose volume the task does not declare
        raise TaskDefinitionError(f"mountPoints name volume(s) {unknown} that `volumes` lacks")
    env = {e["name"]: e["value"] for e in c.get("environment", [])}
    if not env.get("DATA_DIR"):
        raise TaskDefinitionError(
            "environment must set DATA_DIR (where the service writes) to a mounted volume"
        )
    needed = {"DATA_DIR": env["DATA_DIR"], "temporary files": TMP_DIR}
    writable = writable_paths(td)
    missing = [f"{what} ({path})" for what, path in needed.items() if path not in writable]
    if missing:
        raise TaskDefinitionError(
            f"with a read-only root filesystem the service needs a writable volume for "
            f"{' and '.join(missing)}: add a task volume and a mountPoint"
        )


def secret_names(td: dict) -> list[str]:
    """Return the environment names the container receives from `secrets`."""
    return [s["name"] for s in container(td).get("secrets", [])]


def secret_keys(td: dict) -> list[str]:
    """Return the JSON keys the secret must hold (a missing key stops the task from starting)."""
    return [s["valueFrom"].split(":")[-3] for s in container(td).get("secrets", [])]


def to_json(td: dict) -> str:
    """Return the task definition as the indented JSON the AWS CLI and CI accept."""
    return json.dumps(td, indent=2) + "\n"


# What describe_task_definition returns besides what register_task_definition takes.
_DESCRIBED_ONLY = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
)


def registration(described: dict) -> dict:
    """Return a described revision as register_task_definition's arguments (a deep copy)."""
    return {k: copy.deepcopy(v) for k, v in described.items() if k not in _DESCRIBED_ONLY}
