"""Chapter 04's exercises: create the secret, a `secrets` entry, plain settings, a safe update."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from deploy.aws.names import StackNames
from deploy.resources import secrets, taskdef
from service.aws import AwsContext
from workbook import compare
from workbook.exercises import Exercise, NotDone

# The JSON keys the task definition's `secrets` block names: a task cannot start without each.
REFERENCED = tuple(taskdef.secret_keys(taskdef.load_template()))
# Settings the service reads, offered to exercise 04-3 (plain ones and secret ones mixed).
CANDIDATES = (
    "ENV",
    "PORT",
    "LOG_LEVEL",
    "LLM_PROVIDER",
    "DATA_DIR",
    "GROQ_API_KEY",
    "GOOGLE_API_KEY",
    "LANGCHAIN_API_KEY",
    "API_KEY",
)
PLAIN_WHY = {
    "ENV": "the production rules in service/config.py switch on it",
    "PORT": "the port uvicorn listens on, which must equal the containerPort",
    "LOG_LEVEL": "how much the service logs",
    "LLM_PROVIDER": "which answerer the service uses (a choice, not a credential)",
    "DATA_DIR": "where the service writes; taskdef.check refuses a definition without it",
}
PRACTICE_SECRET = "llmops_practice"  # exercise 04-4 works on this copy, never on llmops_prod
PRACTICE_VALUES = {
    "GROQ_API_KEY": "gsk_old_value",
    "GOOGLE_API_KEY": "AIza_unchanged",
    "LANGCHAIN_API_KEY": "lsv2_unchanged",
    "LLM_PROVIDER": "groq",
    "API_KEY": "practice-service-key",
}


def _leak(name: str) -> str:
    return (
        f"{name} is a secret: in `environment` its value is stored in the task definition as "
        "plain text, where anyone allowed ecs:DescribeTaskDefinition (or the console) reads "
        "it; put it under `secrets` with a valueFrom"
    )


# ---- 04-1: the secret itself ---------------------------------------------------------------


def _secret_text(ctx: AwsContext, secret_id: str) -> str | None:
    try:
        return ctx.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def _json_object(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def check_secret(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Compare the secret the learner's function made with the keys the task definition needs."""
    text = _secret_text(ctx, names.secret)
    if text is None:
        raise NotDone(f"{names.secret} does not exist after your function ran: did it call AWS?")
    values = _json_object(text)
    if values is None:
        return [
            "SecretString is not a JSON object: pass json.dumps(values). ECS picks one key "
            "out of the JSON for each `:KEY::` valueFrom; from plain text it finds no key and "
            "the task does not start (ResourceInitializationError)"
        ]
    problems = [
        f"lacks {key}: the task definition's secrets entry ends ':{key}::', so ECS finds no "
        "such key and the task does not start (ResourceInitializationError)"
        for key in REFERENCED
        if key not in values
    ]
    problems += [
        f"{key} holds {type(value).__name__}, not a string: every value the container gets is "
        "an environment variable, which is text"
        for key, value in values.items()
        if not isinstance(value, str)
    ]
    found = compare.against_reference(ctx, names, {"secrets": [names.secret]})
    return problems + [f"{f.field}: {f.message}" for f in found.findings]


def _force_delete(ctx: AwsContext, secret_id: str) -> None:
    try:
        ctx.client("secretsmanager").delete_secret(
            SecretId=secret_id, ForceDeleteWithoutRecovery=True
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


def reset_secret(ctx: AwsContext, names: StackNames) -> None:
    """Delete the secret an earlier attempt made, at once (no recovery window), if any."""
    _force_delete(ctx, names.secret)


# ---- 04-2: one `secrets` entry -------------------------------------------------------------


def check_secrets_entry(answer: object, secret_arn: str, names: StackNames) -> list[str]:
    """Check a task-definition `secrets` entry that injects LANGCHAIN_API_KEY from the secret."""
    key = "LANGCHAIN_API_KEY"
    if not isinstance(answer, dict):
        return [f'an entry is a dict {{"name": ..., "valueFrom": ...}}, got {answer!r}']
    if "value" in answer:
        return [
            "`value` is the plain-text form that belongs to `environment`: the key would sit in "
            "the task definition for anyone allowed ecs:DescribeTaskDefinition to read; a "
            "`secrets` entry has name and valueFrom"
        ]
    problems = []
    if answer.get("name") != key:
        problems.append(
            f"name is {answer.get('name')!r}: it is the environment variable the container "
            f"gets, and the service's Settings reads {key}"
        )
    value_from = answer.get("valueFrom")
    if not isinstance(value_from, str):
        return [*problems, "valueFrom is missing: it says where ECS reads the value from"]
    return problems + _value_from_problems(value_from, secret_arn, key, names)


def _value_from_problems(value_from: str, arn: str, key: str, names: StackNames) -> list[str]:
    want = secrets.value_from(arn, key)
    if value_from == arn:
        return [
            f"valueFrom is the bare ARN: ECS would put the whole JSON document, every key "
            f"in it, into {key}; add ':{key}::' to pick one key"
        ]
    if not value_from.startswith("arn:"):
        return [
            f"valueFrom {value_from!r} is not an ARN: use the secret's full ARN (create_secret "
            f"returned it: {arn}) followed by ':{key}::'"
        ]
    if not value_from.startswith(arn + ":"):
        partial = arn.rsplit("-", 1)[0]
        if value_from.startswith(partial + ":"):
            return [
                "the ARN lacks the 6-character suffix AWS added (-" + arn.rsplit("-", 1)[1] + "): "
                "a partial ARN works only while no other secret's name starts the same, and "
                "AWS recommends the full ARN (errata 8)"
            ]
        return [f"valueFrom names another secret; the stack's secret is {arn}"]
    fields = value_from[len(arn) + 1 :].split(":")
    if fields[0] != key:
        return [f"selects JSON key {fields[0]!r}; {key} gets that key's value, not its own"]
    if len(fields) == 1:
        return [
            f"after the key come two more fields, version stage and version id: end with "
            f"':{key}::' (both empty means AWSCURRENT), as AWS's examples do"
        ]
    if len(fields) != 3:
        return [
            f"{len(fields)} fields after the ARN: the guide's comment puts double colons "
            "between the parts (errata 8); the format is ARN:json-key:version-stage:version-id "
            f"with single colons, so write {want!r}"
        ]
    stage, version_id = fields[1:]
    if stage and version_id:
        return ["give a version stage or a version id, not both"]
    if version_id or stage not in ("", "AWSCURRENT"):
        return [
            f"pins {key} to {stage or 'version ' + version_id}: after the next change of the "
            "secret new tasks would still get the old value; leave stage and id empty "
            "(AWSCURRENT)"
        ]
    return []


# ---- 04-3: what may go in `environment` -----------------------------------------------------


def check_plain_settings(answer: object) -> list[str]:
    """Check which settings the learner puts in plain `environment`: secrets are caught by name."""
    if isinstance(answer, str) or not isinstance(answer, set | list | tuple | dict | frozenset):
        return [f"the answer is a set of names, such as {{'ENV', 'PORT'}}; got {answer!r}"]
    chosen = set(answer)
    problems = [
        f"{name} is not one of the settings offered: {', '.join(CANDIDATES)}"
        for name in sorted(chosen - set(CANDIDATES), key=str)
    ]
    problems += [_leak(name) for name in CANDIDATES if name in chosen and name not in PLAIN_WHY]
    problems += [
        f"{name} is missing: it is plain configuration ({why}) and belongs in `environment`"
        for name, why in PLAIN_WHY.items()
        if name not in chosen
    ]
    return problems


# ---- 04-4: a secret update that keeps every key ----------------------------------------------


def reset_practice(ctx: AwsContext, secret_id: str) -> None:
    """Make the practice secret afresh, holding every key the task definition needs."""
    if secret_id != PRACTICE_SECRET:  # the check deletes it afterwards: never the real one
        raise ValueError(f"exercise 04-4 runs on {PRACTICE_SECRET!r} only, got {secret_id!r}")
    _force_delete(ctx, secret_id)
    ctx.client("secretsmanager").create_secret(
        Name=secret_id, SecretString=json.dumps(PRACTICE_VALUES)
    )


def check_update(answer: object, ctx: AwsContext, secret_id: str, new_value: str) -> list[str]:
    """Check the practice secret after the learner's update: new GROQ key, every other key kept."""
    try:
        text = _secret_text(ctx, secret_id)
        versions = ctx.client("secretsmanager").describe_secret(SecretId=secret_id)
    finally:
        _force_delete(ctx, secret_id)  # leave no practice copy behind
    values = _json_object(text or "")
    if values is None:
        return ["the secret no longer holds a JSON object: write json.dumps(merged)"]
    if values == PRACTICE_VALUES:
        raise NotDone("the secret is unchanged: did your function write a new value?")
    problems = []
    dropped = [k for k in PRACTICE_VALUES if k not in values]
    if dropped:
        still = [k for k in dropped if k in REFERENCED]
        problems.append(
            f"dropped {', '.join(dropped)}: a --secret-string replaces the whole JSON, so "
            "read the current value, change one key and write the merged JSON back"
            + (
                f"; the task definition still references {', '.join(still)}, so the next "
                "task start fails (ResourceInitializationError)"
                if still
                else ""
            )
        )
    if values.get("GROQ_API_KEY") != new_value:
        problems.append("GROQ_API_KEY does not hold new_value: set it in the merged JSON")
    changed = [k for k in PRACTICE_VALUES if k in values and k != "GROQ_API_KEY"]
    changed = [k for k in changed if values[k] != PRACTICE_VALUES[k]]
    if changed:
        problems.append(f"changed {', '.join(changed)}, which this update should leave alone")
    stages = [s for labels in versions.get("VersionIdsToStages", {}).values() for s in labels]
    if "AWSPREVIOUS" not in stages:
        problems.append("no new version was written: AWSPREVIOUS should hold the old value")
    return problems


EXERCISES = [
    Exercise(
        "04-1",
        "Complete create_app_secret: create llmops_prod whose SecretString is the JSON of every "
        "key the task definition's `secrets` names (empty placeholders), LLM_PROVIDER 'offline' "
        "and API_KEY = api_key, with the Project tag. (Each run deletes the secret an earlier "
        "attempt made, then calls your function.)",
        check_secret,
        args=("client", "api_key"),
        reset=reset_secret,
    ),
    Exercise(
        "04-2",
        "Write the task definition's `secrets` entry that gives the container LANGCHAIN_API_KEY "
        "from that key of the secret (secret_arn is its full ARN).",
        check_secrets_entry,
    ),
    Exercise(
        "04-3",
        "Of the service's settings, which may go in plain `environment`? Give the set of names.",
        check_plain_settings,
    ),
    Exercise(
        "04-4",
        "Complete update_key: give the secret secret_id a new GROQ_API_KEY without dropping any "
        "other key (read, merge, put_secret_value). It runs on a practice copy, llmops_practice.",
        check_update,
        args=("client", "secret_id", "new_value"),
        reset=reset_practice,
    ),
]
