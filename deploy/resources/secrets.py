"""Keep the app's API keys in one Secrets Manager JSON secret and name them for ECS."""

from __future__ import annotations

import json
import secrets as random_tokens
from collections.abc import Mapping

from botocore.exceptions import ClientError

from deploy.aws.errors import InvalidInput, ResourceError, aws_errors
from deploy.aws.names import StackNames
from deploy.resources import taskdef
from deploy.resources.contract import UNKNOWN, Change, Result, missing_tags, tag_map
from deploy.resources.outputs import SecretOutputs
from service.aws import AwsContext

KIND = "secret"
# The key the service asks every client for (service/config.py API_KEY): without it the
# deployed service would answer anyone on the internet. ensure generates one when the secret
# lacks it and keeps an existing one; it is never printed, logged or put in a Change.
API_KEY = "API_KEY"
API_KEY_BYTES = 32  # secrets.token_urlsafe(32): 43 URL-safe characters, 256 random bits
# The guide's keys. Values always come from the caller; the placeholders are empty (no key
# configured), except the provider, which defaults to the offline answerer.
SECRET_KEYS = ("GROQ_API_KEY", "GOOGLE_API_KEY", "LANGCHAIN_API_KEY", "LLM_PROVIDER", API_KEY)
PLACEHOLDERS = {
    "GROQ_API_KEY": "",
    "GOOGLE_API_KEY": "",
    "LANGCHAIN_API_KEY": "",
    "LLM_PROVIDER": "offline",
}


def new_api_key() -> str:
    """Return a fresh random API key (256 bits, URL-safe)."""
    return random_tokens.token_urlsafe(API_KEY_BYTES)


def _generated(current: Mapping[str, str], new: Mapping[str, str] | None) -> dict[str, str]:
    """Return {API_KEY: fresh key} when neither the secret nor the caller holds a non-empty one."""
    if (new or {}).get(API_KEY) or current.get(API_KEY):
        return {}
    return {API_KEY: new_api_key()}


def _missing(current: Mapping[str, str], new: Mapping[str, str] | None) -> dict[str, str]:
    """Return placeholders for the keys the task definition reads that the secret has lost."""
    # A task whose definition names a JSON key the secret lacks never starts (ECS stops it
    # with ResourceInitializationError): the guide's `update-secret` drops keys this way.
    referenced = taskdef.secret_keys(taskdef.load_template())
    given = new or {}
    return {
        k: PLACEHOLDERS.get(k, "")
        for k in referenced
        if k != API_KEY and k not in current and k not in given
    }


def _what(names: StackNames) -> str:
    return f"secret {names.secret}"


def _describe(ctx: AwsContext, names: StackNames) -> dict | None:
    with aws_errors(_what(names), "secretsmanager"):
        try:
            return ctx.client("secretsmanager").describe_secret(SecretId=names.secret)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise


def find_secret(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return describe_secret for the stack's secret, or None (absent or scheduled deletion)."""
    found = _describe(ctx, names)
    return None if found is None or found.get("DeletedDate") else found


def value_from(secret_arn: str, key: str) -> str:
    """Return the task-definition `valueFrom` that injects one JSON key of the secret."""
    # errata 8: <full ARN with suffix>:<json-key>:<version-stage>:<version-id>; the two
    # empty trailing fields (`::`) mean "AWSCURRENT". Needs Fargate platform 1.4.0+.
    if not isinstance(key, str) or not key or ":" in key:
        raise InvalidInput(f"a secret JSON key must be a non-empty name without ':', got {key!r}")
    return f"{secret_arn}:{key}::"


def keys(ctx: AwsContext, names: StackNames) -> list[str]:
    """Return the JSON keys the secret holds (never the values)."""
    return sorted(_read(ctx, names))


def _read(ctx: AwsContext, names: StackNames) -> dict[str, str]:
    with aws_errors(_what(names), "secretsmanager"):
        text = ctx.client("secretsmanager").get_secret_value(SecretId=names.secret)["SecretString"]
    try:
        values = json.loads(text)
    except ValueError:
        raise ResourceError(f"{_what(names)} does not hold a JSON object") from None
    if not isinstance(values, dict):
        raise ResourceError(f"{_what(names)} does not hold a JSON object")
    return values


def _check_mapping(values: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise InvalidInput("secret values must be a mapping of key -> string")
    bad = sorted(
        str(k)
        for k, v in values.items()
        if not isinstance(k, str) or not k or not isinstance(v, str)
    )
    if bad:  # name the keys, never the values
        raise InvalidInput(f"secret keys must be non-empty strings with string values: {bad}")
    if API_KEY in values and not values[API_KEY].strip():
        raise InvalidInput(f"{API_KEY} must not be empty: the service would then need no key")
    return dict(values)


def _changed_keys(current: dict[str, str], new: dict[str, str]) -> list[str]:
    return sorted(k for k, v in new.items() if current.get(k) != v)


def _converge(
    ctx: AwsContext, names: StackNames, values: Mapping[str, str] | None, apply: bool
) -> Result:
    new = _check_mapping(values) if values is not None else None
    sm = ctx.client("secretsmanager")
    found = _describe(ctx, names)
    if found is not None and found.get("DeletedDate"):
        # Scheduled for deletion (a recovery window): the name is taken, so restore it.
        if not apply:
            change = Change(KIND, names.secret, "update", {"restore": True}, found["ARN"])
            return Result([change], SecretOutputs(found["ARN"]))
        with aws_errors(_what(names), "secretsmanager"):
            sm.restore_secret(SecretId=found["ARN"])
        found = find_secret(ctx, names)
    if found is None:
        keys = sorted({**PLACEHOLDERS, **(new or {}), API_KEY: ""})
        arn = None
        if apply:  # the key is generated only when it is written, never in a plan
            initial = {**PLACEHOLDERS, **(new or {}), **_generated({}, new)}
            with aws_errors(_what(names), "secretsmanager"):
                arn = sm.create_secret(
                    Name=names.secret,
                    Description="API keys for the RAG service (JSON; injected by ECS)",
                    SecretString=json.dumps(initial),
                    Tags=names.tag_list(),
                )["ARN"]
        change = Change(KIND, names.secret, "create", {"keys": keys}, arn)
        return Result([change], SecretOutputs(arn or UNKNOWN))
    detail: dict = {}
    tags = tag_map(found.get("Tags"))
    absent = missing_tags(tags, names.tags)
    if absent:
        detail["tags"] = (tags, names.tags)
    # Read once: the values to compare with `values`, and whether API_KEY is there.
    current = _read(ctx, names)
    changed = _changed_keys(current, new) if new else []
    fresh = _generated(current, new)
    restored = _missing(current, new)
    if changed:
        detail["keys_changed"] = changed
    if fresh:
        detail["keys_generated"] = sorted(fresh)  # the names only
    if restored:
        detail["keys_missing"] = sorted(restored)  # put back as placeholders (empty: no key)
    if apply and detail:
        with aws_errors(_what(names), "secretsmanager"):
            if absent:
                sm.tag_resource(
                    SecretId=found["ARN"],
                    Tags=[{"Key": k, "Value": v} for k, v in absent.items()],
                )
            if changed or fresh or restored:
                _put(ctx, names, {**restored, **current, **(new or {}), **fresh})
    action = "update" if detail else "unchanged"
    return Result(
        [Change(KIND, names.secret, action, detail, found["ARN"])], SecretOutputs(found["ARN"])
    )


def _put(ctx: AwsContext, names: StackNames, merged: dict[str, str]) -> None:
    # put_secret_value makes a new AWSCURRENT version; the old one becomes AWSPREVIOUS and keeps
    # that label until the next change (errata 9: no 24-hour rule). Running tasks keep the old
    # value until they are replaced (force a new deployment).
    ctx.client("secretsmanager").put_secret_value(
        SecretId=names.secret, SecretString=json.dumps(merged)
    )


def plan(ctx: AwsContext, names: StackNames, *, values: Mapping[str, str] | None = None) -> Result:
    """Return what ensure would do to the secret (keys only, never values)."""
    return _converge(ctx, names, values, apply=False)


def ensure(
    ctx: AwsContext, names: StackNames, *, values: Mapping[str, str] | None = None
) -> Result:
    """Create the JSON secret (placeholders, a generated API_KEY, `values`) or merge into it."""
    return _converge(ctx, names, values, apply=True)


def set_secret_values(ctx: AwsContext, names: StackNames, mapping: Mapping[str, str]) -> Change:
    """Merge `mapping` into the secret as a new version; return which keys changed."""
    new = _check_mapping(mapping)
    found = find_secret(ctx, names)
    if found is None:
        return ensure(ctx, names, values=new).changes[0]
    current = _read(ctx, names)
    changed = _changed_keys(current, new)
    if changed:
        with aws_errors(_what(names), "secretsmanager"):
            _put(ctx, names, {**current, **new})
    action = "update" if changed else "unchanged"
    return Change(KIND, names.secret, action, {"keys_changed": changed}, found["ARN"])


def describe(ctx: AwsContext, names: StackNames) -> dict:
    """Return the secret's ARN, keys, version stages and rotation flag (never values)."""
    found = find_secret(ctx, names)
    if found is None:
        return {"name": names.secret, "exists": False}
    return {
        "name": names.secret,
        "exists": True,
        "arn": found["ARN"],
        "keys": keys(ctx, names),
        "versions": dict(found.get("VersionIdsToStages", {})),
        "rotation_enabled": bool(found.get("RotationEnabled")),
        "tags": tag_map(found.get("Tags")),
    }


def delete(ctx: AwsContext, names: StackNames, *, recovery_days: int | None = None) -> list[Change]:
    """Delete the secret (at once by default, or after a 7-30 day recovery window)."""
    if recovery_days is not None and not 7 <= recovery_days <= 30:
        raise InvalidInput(f"recovery_days must be 7..30 (AWS's window), got {recovery_days!r}")
    found = _describe(ctx, names)
    if found is None:
        return [Change(KIND, names.secret, "absent")]
    scheduled = found.get("DeletedDate")
    if scheduled and recovery_days is not None:  # already in a window: AWS refuses a second one
        detail = {"scheduled_for_deletion": str(scheduled)}
        return [Change(KIND, names.secret, "unchanged", detail, found["ARN"])]
    # A secret in its recovery window still holds its name (a new stack could not create it, and
    # a plan restores it): deleting it "at once" ends the window too, as AWS allows.
    kwargs = (
        {"ForceDeleteWithoutRecovery": True}
        if recovery_days is None
        else {"RecoveryWindowInDays": recovery_days}
    )
    with aws_errors(_what(names), "secretsmanager"):
        ctx.client("secretsmanager").delete_secret(SecretId=found["ARN"], **kwargs)
    detail = {"recovery_days": recovery_days}
    if scheduled:
        detail["was_scheduled_for"] = str(scheduled)
    return [Change(KIND, names.secret, "delete", detail, found["ARN"])]
