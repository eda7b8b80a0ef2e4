"""Scheduled actions run on the local data plane's autoscaler: min/max change, the count follows.

The autoscaler is driven minute by minute here (`evaluate(k)`, as the metrics part calls it);
no task runs: what is checked is the service's desired count, the scalable target and the
scaling activities, as the guide's CLI commands show them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from deploy.models.common import ModelError
from deploy.models.schedule import firings, parse_cron
from emulator.autoscaler import Autoscaler
from emulator.clock import Clock
from emulator.metrics import MetricsPublisher, Timeline
from service.aws import AwsContext

CLUSTER, SERVICE = "sched", "web"
RESOURCE = f"service/{CLUSTER}/{SERVICE}"
KEY = {
    "ServiceNamespace": "ecs",
    "ResourceId": RESOURCE,
    "ScalableDimension": "ecs:service:DesiredCount",
}


@pytest.fixture
def scaler(ctx: AwsContext) -> Autoscaler:
    """A service at 1 task with a scalable target of 1-4, and an autoscaler on a fast clock."""
    ecs = ctx.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    container = {"name": "app", "image": "app:1", "essential": True, "memory": 512}
    td = ecs.register_task_definition(family="web", containerDefinitions=[container])
    arn = td["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=arn, desiredCount=1)
    ctx.client("application-autoscaling").register_scalable_target(
        **KEY, MinCapacity=1, MaxCapacity=4
    )
    metrics = MetricsPublisher(clock=Clock(scale=0.01))
    metrics.timeline = Timeline(metrics.clock)  # minutes are evaluated by hand, no thread
    scaler = Autoscaler(metrics).start(
        SimpleNamespace(account_id=ctx.account_id, region=ctx.region)
    )
    yield scaler
    scaler.stop()


def _aas(ctx: AwsContext):
    return ctx.client("application-autoscaling")


def _desired(ctx: AwsContext) -> int:
    found = ctx.client("ecs").describe_services(cluster=CLUSTER, services=[SERVICE])
    return found["services"][0]["desiredCount"]


def _bounds(ctx: AwsContext) -> tuple[int, int]:
    [t] = _aas(ctx).describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[RESOURCE])[
        "ScalableTargets"
    ]
    return t["MinCapacity"], t["MaxCapacity"]


def _at(when: datetime) -> str:
    return f"at({when.strftime('%Y-%m-%dT%H:%M:%S')})"


def test_an_action_due_this_minute_raises_the_floor_and_the_count_follows(ctx, scaler):
    minute = scaler.metrics.timeline.minute_start(1)  # AWS time (naive UTC)
    _aas(ctx).put_scheduled_action(
        **KEY,
        ScheduledActionName="workday-up",
        Schedule=_at(minute),
        ScalableTargetAction={"MinCapacity": 3, "MaxCapacity": 4},
    )
    scaler.evaluate(0)
    assert (_desired(ctx), _bounds(ctx)) == (1, (1, 4))  # not due yet
    scaler.evaluate(1)
    assert (_desired(ctx), _bounds(ctx)) == (3, (3, 4))  # below the new minimum: scaled out
    [activity] = _aas(ctx).describe_scaling_activities(ServiceNamespace="ecs")["ScalingActivities"]
    assert activity["Description"] == "Setting desired count to 3."
    assert "scheduled action workday-up" in activity["Cause"]
    scaler.evaluate(2)  # at() runs once
    assert (
        len(_aas(ctx).describe_scaling_activities(ServiceNamespace="ecs")["ScalingActivities"]) == 1
    )


def test_a_lower_ceiling_scales_in_and_a_suspended_schedule_does_nothing(ctx, scaler):
    _aas(ctx).put_scheduled_action(
        **KEY,
        ScheduledActionName="every-minute",
        Schedule="cron(* * * * ? *)",
        ScalableTargetAction={"MinCapacity": 2, "MaxCapacity": 2},
    )
    _aas(ctx).register_scalable_target(**KEY, SuspendedState={"ScheduledScalingSuspended": True})
    scaler.evaluate(0)
    assert (_desired(ctx), _bounds(ctx)) == (1, (1, 4))
    _aas(ctx).register_scalable_target(**KEY, SuspendedState={"ScheduledScalingSuspended": False})
    ctx.client("ecs").update_service(cluster=CLUSTER, service=SERVICE, desiredCount=4)
    scaler.evaluate(1)
    assert (_desired(ctx), _bounds(ctx)) == (2, (2, 2))  # above the new maximum: scaled in


def test_an_action_outside_its_start_and_end_time_does_not_run(ctx, scaler):
    first = scaler.metrics.timeline.minute_start(0).replace(tzinfo=UTC)
    _aas(ctx).put_scheduled_action(
        **KEY,
        ScheduledActionName="ended",
        Schedule="cron(* * * * ? *)",
        EndTime=first - timedelta(minutes=5),
        ScalableTargetAction={"MinCapacity": 4},
    )
    scaler.evaluate(0)
    assert _bounds(ctx) == (1, 4)


def test_aws_cron_reads_days_and_zones_as_aws_does():
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    week = firings(
        "cron(0 8 ? * MON-FRI *)", monday - timedelta(days=2), monday + timedelta(days=5)
    )
    assert [d.strftime("%a") for d in week] == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    # 1-5 is Sunday to Thursday in AWS's cron (1 is Sunday), not Monday to Friday
    sun_thu = firings("cron(0 8 ? * 1-5 *)", monday - timedelta(days=2), monday + timedelta(days=5))
    assert [d.strftime("%a") for d in sun_thu] == ["Sun", "Mon", "Tue", "Wed", "Thu"]
    paris = firings(
        "cron(0 8 ? * MON *)", monday, monday + timedelta(hours=2), timezone="Europe/Paris"
    )
    assert paris == []  # 08:00 in Paris is 07:00 UTC in December: before the window
    assert firings("cron(0 0 L * ? *)", datetime(2026, 2, 1), datetime(2026, 3, 2)) == [
        datetime(2026, 2, 28, tzinfo=UTC)
    ]
    start = datetime(2026, 12, 4, 7, 0)
    assert [t.minute for t in firings("rate(5 minutes)", start, start + timedelta(minutes=16),
                                      created=start - timedelta(minutes=2))] == [3, 8, 13]  # fmt: skip


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("0 8 * * MON-FRI", "has 5 fields"),
        ("0 8 * * MON-FRI *", "exactly one of day-of-month and day-of-week"),
        ("0 25 ? * MON *", "hours '25'"),
        ("0 8 ? * FUNDAY *", "day-of-week 'FUNDAY'"),
        ("0 8 15W * ? *", "not modelled"),
    ],
)
def test_a_bad_cron_is_refused_naming_the_field(expression, named):
    with pytest.raises(ModelError, match=named):
        parse_cron(expression)


def test_bad_schedules_and_zones_are_refused():
    now = datetime(2026, 12, 4)
    for bad, named in [
        ("every 5 minutes", "at\\(...\\), rate\\(...\\) or cron"),
        ("rate(0 minutes)", "positive number"),
        ("at(tomorrow)", "yyyy-mm-dd"),
    ]:
        with pytest.raises(ModelError, match=named):
            firings(bad, now, now + timedelta(hours=1))
    with pytest.raises(ModelError, match="IANA"):
        firings("cron(0 8 ? * MON *)", now, now, timezone="Mars/Olympus")
    once = firings("at(2026-12-04T00:30:00)", now, now + timedelta(hours=1))
    assert once == [datetime(2026, 12, 4, 0, 30, tzinfo=UTC)]
