"""The log group against moto: retention checked here (moto does not), tail and filters."""

from datetime import UTC, datetime, timedelta

import pytest

from deploy import logs
from deploy.clients import client
from deploy.errors import InvalidInput, PermissionDenied, ResourceError
from deploy.names import DEFAULT_NAMES

N = DEFAULT_NAMES


def test_ensure_creates_the_group_with_retention_and_tags(aws):
    assert [c.action for c in logs.plan(N)] == ["create"]
    logs.ensure(N)
    group = client("logs").describe_log_groups(logGroupNamePrefix="/ecs/llmopstdlive")
    assert group["logGroups"][0]["retentionInDays"] == N.log_retention_days
    assert logs.describe(N)["tags"] == {"Project": "ecs-workbook"}
    assert logs.log_group_arn(N) == (
        "arn:aws:logs:us-east-1:123456789012:log-group:/ecs/llmopstdlive"
    )


def test_second_ensure_changes_nothing(aws):
    logs.ensure(N)
    assert [c.action for c in logs.ensure(N)] == ["unchanged"]


def test_drifted_retention_is_converged(aws):
    logs.ensure(N)
    client("logs").put_retention_policy(logGroupName="/ecs/llmopstdlive", retentionInDays=3653)
    [change] = logs.plan(N)
    assert change.action == "update" and change.detail == {"retention_days": (3653, 14)}
    logs.ensure(N)
    assert logs.describe(N)["retention_days"] == 14


def test_never_expire_removes_the_retention(aws):
    logs.ensure(N)
    logs.ensure(N, retention_days=None)
    assert logs.describe(N)["retention_days"] is None


@pytest.mark.parametrize("days", [0, 2, 10, 4000, True])
def test_retention_aws_would_refuse_is_refused(aws, days):
    with pytest.raises(InvalidInput, match="retention"):
        logs.ensure(N, retention_days=days)
    assert logs.find_log_group(N) is None


def test_tail_filters_and_returns_oldest_first(aws):
    logs.ensure(N)
    logs.put_test_events(N, ["INFO started", "ERROR boom", "INFO ok", "ERROR again"])
    rows = logs.tail(N, since=timedelta(minutes=5), filter_pattern="ERROR")
    assert [r["message"] for r in rows] == ["ERROR boom", "ERROR again"]
    assert rows[0]["stream"] == logs.DEFAULT_TEST_STREAM
    assert [r["message"] for r in logs.tail(N, since=60, limit=1)] == ["ERROR again"]


def test_tail_since_excludes_older_events(aws):
    logs.ensure(N)
    logs.put_test_events(N, ["old news"])
    future = datetime.now(UTC) + timedelta(hours=1)
    assert logs.tail(N, since=future) == []


def test_bad_since_is_refused(aws):
    with pytest.raises(InvalidInput, match="since"):
        logs.tail(N, since="yesterday")


def test_put_test_events_needs_the_group(aws):
    with pytest.raises(ResourceError, match="does not exist"):
        logs.put_test_events(N, ["x"])


def test_delete_then_absent(aws):
    logs.ensure(N)
    assert [c.action for c in logs.delete(N)] == ["delete"]
    assert [c.action for c in logs.delete(N)] == ["absent"]


def test_denied_call_names_the_action(aws):
    aws.enforce_iam(0)
    with pytest.raises(PermissionDenied, match="logs:DescribeLogGroups"):
        logs.ensure(N)
