"""Keep the service's CloudWatch log group, with retention, and read it back."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from deploy.aws.errors import InvalidInput, ResourceError, aws_errors
from deploy.aws.names import StackNames
from deploy.resources.contract import Change, Result, missing_tags
from deploy.resources.outputs import LogsOutputs
from service.aws import AwsContext

KIND = "log-group"
# The only values PutRetentionPolicy accepts (moto accepts anything, so we check here).
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
DEFAULT_TEST_STREAM = "ecs/llmops-container/drill"


def _what(names: StackNames) -> str:
    return f"log group {names.log_group}"


def validate_retention(days: int | None) -> int | None:
    """Return `days` if CloudWatch Logs accepts it (None = never expire), else raise."""
    if days is None:
        return None
    if isinstance(days, bool) or days not in RETENTION_DAYS:
        raise InvalidInput(
            f"log retention {days!r} days is not allowed; choose one of {list(RETENTION_DAYS)} "
            "or None (never expire)"
        )
    return days


def log_group_arn(ctx: AwsContext, names: StackNames) -> str:
    """Return the log group's ARN (the form IAM policies use, without the trailing ':*')."""
    return f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{names.log_group}"


def find_log_group(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return the describe_log_groups row for the stack's group, or None."""
    with aws_errors(_what(names), "logs"):
        pages = ctx.client("logs").get_paginator("describe_log_groups")
        for page in pages.paginate(logGroupNamePrefix=names.log_group):
            for group in page["logGroups"]:
                if group["logGroupName"] == names.log_group:
                    return group
    return None


def _tags(ctx: AwsContext, names: StackNames) -> dict[str, str]:
    with aws_errors(_what(names), "logs"):
        return ctx.client("logs").list_tags_log_group(logGroupName=names.log_group).get("tags", {})


def _converge(ctx: AwsContext, names: StackNames, retention_days: object, apply: bool) -> Result:
    days = names.log_retention_days if retention_days == "default" else retention_days
    days = validate_retention(days)
    logs = ctx.client("logs")
    group = find_log_group(ctx, names)
    arn = log_group_arn(ctx, names)
    outputs = LogsOutputs(names.log_group, arn)
    if group is None:
        if apply:
            with aws_errors(_what(names), "logs"):
                logs.create_log_group(logGroupName=names.log_group, tags=names.tags)
                if days is not None:
                    logs.put_retention_policy(logGroupName=names.log_group, retentionInDays=days)
        change = Change(KIND, names.log_group, "create", {"retention_days": days}, arn)
        return Result([change], outputs)
    detail: dict = {}
    if group.get("retentionInDays") != days:
        detail["retention_days"] = (group.get("retentionInDays"), days)
    tags = _tags(ctx, names)
    absent = missing_tags(tags, names.tags)
    if absent:
        detail["tags"] = (tags, names.tags)
    if apply and detail:
        with aws_errors(_what(names), "logs"):
            if "retention_days" in detail:
                if days is None:
                    logs.delete_retention_policy(logGroupName=names.log_group)
                else:
                    logs.put_retention_policy(logGroupName=names.log_group, retentionInDays=days)
            if absent:
                logs.tag_log_group(logGroupName=names.log_group, tags=absent)
    action = "update" if detail else "unchanged"
    return Result([Change(KIND, names.log_group, action, detail, arn)], outputs)


def plan(
    ctx: AwsContext, names: StackNames, *, retention_days: int | str | None = "default"
) -> Result:
    """Return what ensure would do to the log group."""
    return _converge(ctx, names, retention_days, apply=False)


def ensure(
    ctx: AwsContext, names: StackNames, *, retention_days: int | str | None = "default"
) -> Result:
    """Create the log group and converge its retention (default: names.log_retention_days)."""
    return _converge(ctx, names, retention_days, apply=True)


def describe(ctx: AwsContext, names: StackNames) -> dict:
    """Return the log group's retention, stored bytes and stream count."""
    group = find_log_group(ctx, names)
    if group is None:
        return {"name": names.log_group, "exists": False}
    with aws_errors(_what(names), "logs"):
        streams = ctx.client("logs").describe_log_streams(logGroupName=names.log_group)
    return {
        "name": names.log_group,
        "exists": True,
        "arn": log_group_arn(ctx, names),
        "retention_days": group.get("retentionInDays"),
        "stored_bytes": group.get("storedBytes", 0),
        "streams": len(streams["logStreams"]),
        "tags": _tags(ctx, names),
    }


def delete(ctx: AwsContext, names: StackNames) -> list[Change]:
    """Delete the log group and every stream in it."""
    if find_log_group(ctx, names) is None:
        return [Change(KIND, names.log_group, "absent")]
    with aws_errors(_what(names), "logs"):
        ctx.client("logs").delete_log_group(logGroupName=names.log_group)
    return [Change(KIND, names.log_group, "delete")]


def put_test_events(
    ctx: AwsContext, names: StackNames, messages: list[str], *, stream: str = DEFAULT_TEST_STREAM
) -> int:
    """Write `messages` into a stream of the log group, as a task would; return how many."""
    logs = ctx.client("logs")
    if find_log_group(ctx, names) is None:
        raise ResourceError(f"{_what(names)} does not exist; run logs.ensure first")
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": m} for i, m in enumerate(messages)]
    with aws_errors(f"{_what(names)} stream {stream}", "logs"):
        try:
            logs.create_log_stream(logGroupName=names.log_group, logStreamName=stream)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
                raise
        if events:
            logs.put_log_events(
                logGroupName=names.log_group, logStreamName=stream, logEvents=events
            )
    return len(events)


def _start_ms(since: timedelta | datetime | float) -> int:
    if isinstance(since, datetime):
        moment = since if since.tzinfo else since.replace(tzinfo=UTC)
    elif isinstance(since, timedelta):
        moment = datetime.now(UTC) - since
    elif isinstance(since, int | float) and not isinstance(since, bool) and since >= 0:
        moment = datetime.now(UTC) - timedelta(seconds=since)
    else:
        raise InvalidInput(f"since must be a timedelta, datetime or seconds >= 0, got {since!r}")
    return int(moment.timestamp() * 1000)


def tail(
    ctx: AwsContext,
    names: StackNames,
    *,
    since: timedelta | datetime | float = timedelta(minutes=10),
    filter_pattern: str | None = None,
    limit: int = 1000,
) -> list[dict]:
    """Return the newest events (time, stream, message), oldest first, optionally filtered."""
    kwargs = {"logGroupName": names.log_group, "startTime": _start_ms(since)}
    if filter_pattern:
        kwargs["filterPattern"] = filter_pattern
    rows: list[dict] = []
    with aws_errors(_what(names), "logs"):
        for page in ctx.client("logs").get_paginator("filter_log_events").paginate(**kwargs):
            for e in page["events"]:
                rows.append(
                    {
                        "time": datetime.fromtimestamp(e["timestamp"] / 1000, UTC),
                        "stream": e["logStreamName"],
                        "message": e["message"],
                    }
                )
    rows.sort(key=lambda r: r["time"])
    return rows[-limit:]  # the newest `limit`, like `aws logs tail`
