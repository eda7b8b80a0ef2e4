"""The log group against moto: retention checked here (moto does not), tail and filters."""

from datetime import UTC, datetime, timedelta

import pytest

from deploy.aws.errors import InvalidInput, PermissionDenied, ResourceError
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources import logs

N = DEFAULT_NAMES


def actions(result) -> list[str]:
    return [c.action for c in result.changes]


def test_ensure_creates_the_group_with_retention_and_tags(ctx):
    assert actions(logs.plan(ctx, N)) == ["create"]
    logs.ensure(ctx, N)
    group = ctx.client("logs").describe_log_groups(logGroupNamePrefix="/ecs/llmopstdlive")
    assert group["logGroups"][0]["retentionInDays"] == N.log_retention_days
    assert logs.describe(ctx, N)["tags"] == {"Project": "ecs-workbook"}
    assert logs.log_group_arn(ctx, N) == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/llmopstdlive"
    )


def test_second_ensure_changes_nothing(ctx):
    first = logs.ensure(ctx, N).outputs
    assert actions(logs.ensure(ctx, N)) == ["unchanged"]
    assert first.log_group == N.log_group and first.arn.endswith(":log-group:/ecs/llmopstdlive")


def test_drifted_retention_is_converged(ctx):
    logs.ensure(ctx, N)
    ctx.client("logs").put_retention_policy(logGroupName="/ecs/llmopstdlive", retentionInDays=3653)
    [change] = logs.plan(ctx, N).changes
    assert change.action == "update" and change.detail == {"retention_days": (3653, 14)}
    logs.ensure(ctx, N)
    assert logs.describe(ctx, N)["retention_days"] == 14


def test_never_expire_removes_the_retention(ctx):
    logs.ensure(ctx, N)
    logs.ensure(ctx, N, retention_days=None)
    assert logs.describe(ctx, N)["retention_days"] is None


@pytest.mark.parametrize("days", [0, 2, 10, 4000, True])
def test_retention_aws_would_refuse_is_refused(ctx, days):
    with pytest.raises(InvalidInput, match="retention"):
        logs.ensure(ctx, N, retention_days=days)
    assert logs.find_log_group(ctx, N) is None


def test_tail_filters_and_returns_oldest_first(ctx):
    logs.ensure(ctx, N)
    logs.put_test_events(ctx, N, ["INFO started", "ERROR boom", "INFO ok", "ERROR again"])
    rows = logs.tail(ctx, N, since=timedelta(minutes=5), filter_pattern="ERROR")
    assert [r["message"] for r in rows] == ["ERROR boom", "ERROR again"]
    assert rows[0]["stream"] == logs.DEFAULT_TEST_STREAM
    assert [r["message"] for r in logs.tail(ctx, N, since=60, limit=1)] == ["ERROR again"]


def test_tail_since_excludes_older_events(ctx):
    logs.ensure(ctx, N)
    logs.put_test_events(ctx, N, ["old news"])
    future = datetime.now(UTC) + timedelta(hours=1)
    assert logs.tail(ctx, N, since=future) == []


def test_bad_since_is_refused(ctx):
    with pytest.raises(InvalidInput, match="since"):
        logs.tail(ctx, N, since="yesterday")


def test_put_test_events_needs_the_group(ctx):
    with pytest.raises(ResourceError, match="does not exist"):
        logs.put_test_events(ctx, N, ["x"])


def test_delete_then_absent(ctx):
    logs.ensure(ctx, N)
    assert [c.action for c in logs.delete(ctx, N)] == ["delete"]
    assert [c.action for c in logs.delete(ctx, N)] == ["absent"]


def test_denied_call_names_the_action(aws, ctx):
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="logs:DescribeLogGroups"):
        logs.ensure(ctx, N)
