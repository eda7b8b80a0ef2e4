"""ECS utilization metrics: two planes on one emulator publish each task's figures once a minute."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from deploy.aws.names import DEFAULT_NAMES
from emulator.clock import Clock
from emulator.engine import PROCESS
from emulator.metrics import MetricsPublisher, Timeline
from emulator.tasks import TaskRunner
from service.aws import AwsContext
from tests.emulator.test_tasks import CLOCK, SLEEP, WAIT_LIMIT, register, stack

__all__ = ["stack"]  # the fixture, shared with test_tasks
SERVICE = "web"


@pytest.fixture
def runners(aws) -> Iterator[tuple[TaskRunner, TaskRunner]]:
    """Two planes' runners in one process (moto's models shared); the first adopts new tasks."""
    first = TaskRunner(mode=PROCESS, clock=CLOCK, poll_s=0.05).start()
    second = TaskRunner(mode=PROCESS, clock=CLOCK, poll_s=0.05).start()
    yield first, second
    second.stop()
    first.stop()


def scalable_service_task(ctx: AwsContext, stack: dict) -> str:
    """Make a scalable service and start one task of it (group service:web); return its ARN."""
    ecs, td = ctx.client("ecs"), register(ctx, stack, command=SLEEP)
    ecs.create_service(
        cluster=DEFAULT_NAMES.cluster, serviceName=SERVICE, taskDefinition=td, desiredCount=1,
        launchType="FARGATE", networkConfiguration=stack["network"],
    )  # fmt: skip
    ctx.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="ecs",
        ScalableDimension="ecs:service:DesiredCount",
        ResourceId=f"service/{DEFAULT_NAMES.cluster}/{SERVICE}",
        MinCapacity=1,
        MaxCapacity=2,
    )
    return ecs.run_task(
        cluster=DEFAULT_NAMES.cluster, taskDefinition=td, launchType="FARGATE",
        networkConfiguration=stack["network"], group=f"service:{SERVICE}",
    )["tasks"][0]["taskArn"]  # fmt: skip


def test_two_planes_publish_a_services_task_once_a_minute(ctx, runners, stack):
    arn = scalable_service_task(ctx, stack)
    first, second = runners
    assert first.wait_status(arn, "RUNNING", WAIT_LIMIT) == "RUNNING"
    assert arn in first.task_arns() and arn not in second.task_arns()
    plane = SimpleNamespace(account_id=ctx.account_id, region=ctx.region)
    timeline = Timeline(Clock())  # both planes' minutes fall on the same timestamps
    publishers = [MetricsPublisher(first), MetricsPublisher(second), MetricsPublisher()]
    for k in (0, 1):  # a task's first minute sets its CPU baseline; the second is published
        for publisher in publishers:
            publisher.plane, publisher.clock, publisher.timeline = plane, Clock(), timeline
            publisher.publish(k)
        time.sleep(0.05)
    found = ctx.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/ECS",
        MetricName="CPUUtilization",
        Dimensions=[
            {"Name": "ClusterName", "Value": DEFAULT_NAMES.cluster},
            {"Name": "ServiceName", "Value": SERVICE},
        ],
        StartTime=timeline.minute_start(0),
        EndTime=timeline.minute_start(2),
        Period=60,
        Statistics=["SampleCount"],
    )["Datapoints"]
    # One task, one sample in its minute: only the plane whose runner runs it publishes it.
    assert [p["SampleCount"] for p in found] == [1.0], found
