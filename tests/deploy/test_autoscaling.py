"""Application Auto Scaling: target, target tracking, step policy + alarm, schedules (moto)."""

import pytest

from deploy import alb, autoscaling, stack
from deploy.clients import client
from deploy.errors import InvalidInput
from deploy.names import DEFAULT_NAMES as N

STEPS = ("secrets", "iam", "ecr", "logs", "network", "alb", "ecs", "autoscaling")


@pytest.fixture
def scaled(aws):
    """Apply the service and its auto scaling."""
    stack.apply(N, only=STEPS, progress=False)
    return autoscaling.describe(N)


def test_target_policies_alarm_and_schedules(scaled):
    assert scaled["target"] == {"min": autoscaling.MIN_CAPACITY, "max": autoscaling.MAX_CAPACITY}
    policies = autoscaling.find_policies(N)
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
    alarm = autoscaling.find_alarm(N)
    assert alarm["AlarmActions"] == [step["PolicyARN"]]
    assert alarm["Threshold"] == autoscaling.STEP_ALARM_THRESHOLD
    schedules = autoscaling.find_schedules(N)
    assert set(schedules) == set(autoscaling.SCHEDULES)
    assert schedules["business-hours-up"]["ScalableTargetAction"]["MinCapacity"] == 2
    # ALBRequestCountPerTarget needs app/<alb>/<id>/targetgroup/<tg>/<id>
    config = tracking[autoscaling.policy_name(N, "requests")]
    label = config["PredefinedMetricSpecification"]["ResourceLabel"]
    lb_id = alb.load_balancer_arn(N).split("/")[-1]
    tg_id = alb.target_group_arn(N).split("/")[-1]
    assert label == f"app/{N.alb}/{lb_id}/targetgroup/{N.target_group}/{tg_id}"
    # moto answers describe_scaling_activities with a 500; the module says "unknown" (None)
    assert scaled["activities"] is None


def test_ensure_twice_then_a_changed_range(scaled):
    assert {c.action for c in autoscaling.ensure(N)} == {"unchanged"}
    changes = autoscaling.ensure(N, max_capacity=5)
    target = changes[0]
    assert (target.kind, target.action) == ("scalable-target", "update")
    assert autoscaling.find_target(N)["MaxCapacity"] == 5


def test_bad_input_is_refused(aws):
    with pytest.raises(InvalidInput, match="above max_capacity"):
        autoscaling.plan(N, min_capacity=4, max_capacity=2)
    with pytest.raises(InvalidInput, match="unknown scaling policy"):
        autoscaling.plan(N, policies=("cpu", "gpu"))
    with pytest.raises(InvalidInput, match="whole number"):
        autoscaling.plan(N, min_capacity=-1)


def test_delete_removes_policies_and_their_alarms(scaled):
    autoscaling.delete(N)
    assert autoscaling.find_target(N) is None
    assert client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert {c.action for c in autoscaling.delete(N)} == {"absent"}
