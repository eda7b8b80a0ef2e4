"""Application Auto Scaling: target, target tracking, step policy + alarm, schedules (moto)."""

from datetime import UTC, datetime, timedelta

import pytest
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse

from deploy.aws.errors import BackendError, InvalidInput, ResourceError
from deploy.aws.names import DEFAULT_NAMES
from deploy.resources import alb, autoscaling, network
from deploy.resources.contract import UNKNOWN
from deploy.resources.outputs import AlbOutputs, EcsOutputs
from emulator import scaling_activities
from tests.deploy.calls import recorded

N = DEFAULT_NAMES
PLANNED_ALB = AlbOutputs(load_balancer_arn=UNKNOWN, target_group_arn=UNKNOWN, dns_name=UNKNOWN)
PLANNED_ECS = EcsOutputs(cluster_arn=UNKNOWN, service_arn=UNKNOWN, task_definition_arn=UNKNOWN)


def actions(result) -> list[str]:
    return [c.action for c in result.changes]


def _service(ctx, net, lb: AlbOutputs) -> EcsOutputs:
    """Make the ECS service behind the target group with plain boto3 (ecs.py not needed)."""
    ecs = ctx.client("ecs")
    cluster = ecs.create_cluster(clusterName=N.cluster)["cluster"]["clusterArn"]
    td = ecs.register_task_definition(
        family=N.family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu=N.cpu,
        memory=N.memory,
        containerDefinitions=[
            {
                "name": N.container,
                "image": "public.ecr.aws/docker/library/nginx:latest",
                "portMappings": [{"containerPort": N.container_port}],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(
        cluster=N.cluster,
        serviceName=N.service,
        taskDefinition=td,
        desiredCount=1,
        launchType="FARGATE",
        loadBalancers=[
            {
                "targetGroupArn": lb.target_group_arn,
                "containerName": N.container,
                "containerPort": N.container_port,
            }
        ],
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": list(net.subnet_ids),
                "securityGroups": [net.task_security_group_id],
                "assignPublicIp": "ENABLED",
            }
        },
    )["service"]["serviceArn"]
    return EcsOutputs(cluster_arn=cluster, service_arn=service, task_definition_arn=td)


@pytest.fixture
def needs(ctx):
    """Return the outputs autoscaling needs: (ecs, alb), both made."""
    net = network.ensure(ctx, N).outputs
    lb = alb.ensure(ctx, N, network=net).outputs
    return _service(ctx, net, lb), lb


@pytest.fixture
def scaled(ctx, needs):
    """Apply the service's auto scaling; return ensure's Result."""
    ecs, lb = needs
    return autoscaling.ensure(ctx, N, ecs=ecs, alb=lb)


def test_target_policies_alarm_and_schedules(ctx, needs, scaled):
    described = autoscaling.describe(ctx, N)
    assert described["target"] == {
        "min": autoscaling.MIN_CAPACITY,
        "max": autoscaling.MAX_CAPACITY,
    }
    policies = autoscaling.find_policies(ctx, N)
    tracking = {
        name: p["TargetTrackingScalingPolicyConfiguration"]
        for name, p in policies.items()
        if p["PolicyType"] == "TargetTrackingScaling"
    }
    metrics = {
        c["PredefinedMetricSpecification"]["PredefinedMetricType"] for c in tracking.values()
    }
    assert metrics == {
        "ECSServiceAverageCPUUtilization",
        "ECSServiceAverageMemoryUtilization",
        "ALBRequestCountPerTarget",
    }
    # each target-tracking policy owns a high and a low alarm (AWS makes them; moto too)
    assert all(len(policies[n]["Alarms"]) == 2 for n in tracking)
    step = policies[autoscaling.policy_name(N, "step")]
    alarm = autoscaling.find_alarm(ctx, N)
    assert alarm["AlarmActions"] == [step["PolicyARN"]]
    assert alarm["Threshold"] == autoscaling.STEP_ALARM_THRESHOLD
    schedules = autoscaling.find_schedules(ctx, N)
    assert set(schedules) == set(autoscaling.SCHEDULES)
    assert schedules["business-hours-up"]["ScalableTargetAction"]["MinCapacity"] == 2
    # ALBRequestCountPerTarget needs app/<alb>/<id>/targetgroup/<tg>/<id>
    config = tracking[autoscaling.policy_name(N, "requests")]
    label = config["PredefinedMetricSpecification"]["ResourceLabel"]
    _, lb = needs
    lb_id, tg_id = lb.load_balancer_arn.split("/")[-1], lb.target_group_arn.split("/")[-1]
    assert label == f"app/{N.alb}/{lb_id}/targetgroup/{N.target_group}/{tg_id}"
    # the emulator serves describe_scaling_activities (moto alone: a 500); nothing scaled yet
    assert described["activities"] == [] and "activities_unavailable" not in described
    # the outputs name every policy's ARN
    assert scaled.outputs.resource_id == "service/llmopscluster/llmops-service-2"
    assert scaled.outputs.policy_arns == {n: p["PolicyARN"] for n, p in policies.items()}


def test_scaling_activities_come_back_newest_first(ctx, scaled):
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    for minute, count in ((0, 2), (20, 1)):  # out, then back in: as the local data plane records
        scaling_activities.record(
            ctx.account_id,
            ctx.region,
            resource_id=autoscaling.resource_id(N),
            new_count=count,
            cause=f"monitor alarm high in state ALARM triggered policy {N.service}-cpu",
            started=start + timedelta(minutes=minute),
            ended=start + timedelta(minutes=minute, seconds=30),
            details="Taken by the local data plane (test).",
        )
    found = autoscaling.scaling_activities(ctx, N)
    assert [a["Description"] for a in found] == [
        "Setting desired count to 1.",
        "Setting desired count to 2.",
    ]
    assert {a["StatusCode"] for a in found} == {"Successful"}
    assert autoscaling.describe(ctx, N)["activities"] == found
    assert len(autoscaling.scaling_activities(ctx, N, max_results=1)) == 1


def test_a_moto_without_the_extension_says_so(ctx, scaled, monkeypatch):
    # a plain moto server has no handler: its answer is an HTTP 500
    monkeypatch.delattr(ApplicationAutoScalingResponse, "describe_scaling_activities")
    with pytest.raises(BackendError, match="does not implement DescribeScalingActivities") as err:
        autoscaling.scaling_activities(ctx, N)
    assert "workbook stack emulator" in str(err.value)
    described = autoscaling.describe(ctx, N)  # the rest is still described
    assert described["activities"] is None
    assert "plain moto server" in described["activities_unavailable"]
    assert described["target"] == {"min": autoscaling.MIN_CAPACITY, "max": autoscaling.MAX_CAPACITY}


def test_request_count_label_is_pure_and_unknown_before_the_alb():
    lb = AlbOutputs(
        load_balancer_arn="arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/a/11",
        target_group_arn="arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/22",
        dns_name="a.example",
    )
    assert autoscaling.request_count_label(lb) == "app/a/11/targetgroup/t/22"
    assert autoscaling.request_count_label(PLANNED_ALB) == UNKNOWN


def test_plan_before_anything_exists_creates_everything(ctx):
    result = autoscaling.plan(ctx, N, ecs=PLANNED_ECS, alb=PLANNED_ALB)
    assert set(actions(result)) == {"create"}
    assert len(result.changes) == 1 + 3 + 2 + 2  # target, 3 tracking, step + alarm, 2 schedules
    assert set(result.outputs.policy_arns.values()) == {UNKNOWN}


def test_ensure_refuses_unknown_inputs(ctx, needs):
    ecs, lb = needs
    with pytest.raises(ResourceError, match="autoscaling needs the ECS service first"):
        autoscaling.ensure(ctx, N, ecs=PLANNED_ECS, alb=lb)
    with pytest.raises(ResourceError, match="autoscaling needs the load balancer first"):
        autoscaling.ensure(ctx, N, ecs=ecs, alb=PLANNED_ALB)
    assert autoscaling.find_target(ctx, N) is None
    # without the requests policy the ALB is not needed
    done = autoscaling.ensure(ctx, N, ecs=ecs, alb=PLANNED_ALB, policies=("cpu",))
    assert actions(done) == ["create", "create"]


def test_a_new_target_group_updates_the_requests_policy(ctx, needs, scaled):
    ecs, lb = needs
    moved = AlbOutputs(lb.load_balancer_arn, lb.target_group_arn[:-4] + "beef", lb.dns_name)
    changes = autoscaling.plan(ctx, N, ecs=ecs, alb=moved).changes
    changed = [(c.name, c.action) for c in changes if c.changed]
    assert changed == [(autoscaling.policy_name(N, "requests"), "update")]


def test_ensure_twice_then_a_changed_range(ctx, needs, scaled):
    ecs, lb = needs
    again = autoscaling.ensure(ctx, N, ecs=ecs, alb=lb)
    assert set(actions(again)) == {"unchanged"} and again.outputs == scaled.outputs
    target = autoscaling.ensure(ctx, N, ecs=ecs, alb=lb, max_capacity=5).changes[0]
    assert (target.kind, target.action) == ("scalable-target", "update")
    assert autoscaling.find_target(ctx, N)["MaxCapacity"] == 5


def test_noop_ensure_makes_no_call_twice(ctx, needs, scaled):
    ecs, lb = needs
    with recorded(ctx, "application-autoscaling", "cloudwatch", "elbv2", "ecs") as calls:
        autoscaling.ensure(ctx, N, ecs=ecs, alb=lb)
    assert len(calls) == len(set(calls)), calls
    assert [op for _, op, _ in calls] == [
        "DescribeScalableTargets",
        "DescribeScalingPolicies",
        "DescribeScheduledActions",
        "DescribeAlarms",
    ]


def test_bad_input_is_refused(ctx):
    with pytest.raises(InvalidInput, match="above max_capacity"):
        autoscaling.plan(ctx, N, ecs=PLANNED_ECS, alb=PLANNED_ALB, min_capacity=4, max_capacity=2)
    with pytest.raises(InvalidInput, match="unknown scaling policy"):
        autoscaling.plan(ctx, N, ecs=PLANNED_ECS, alb=PLANNED_ALB, policies=("cpu", "gpu"))
    with pytest.raises(InvalidInput, match="whole number"):
        autoscaling.plan(ctx, N, ecs=PLANNED_ECS, alb=PLANNED_ALB, min_capacity=-1)


def test_delete_removes_policies_and_their_alarms(ctx, scaled):
    autoscaling.delete(ctx, N)
    assert autoscaling.find_target(ctx, N) is None
    assert ctx.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert {c.action for c in autoscaling.delete(ctx, N)} == {"absent"}
