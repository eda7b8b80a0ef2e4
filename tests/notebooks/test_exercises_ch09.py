"""Chapter 09's exercises: typical wrong answers get named, blanks wait, solutions pass."""

import pytest

from deploy.aws.names import DEFAULT_NAMES as names
from deploy.resources import autoscaling
from workbook import compare, exercises
from workbook.solutions import ch09 as solved

# the low alarm target tracking makes, as describe_alarms returns it (the fields the check reads)
LOW = {"AlarmName": "TargetTracking-...-AlarmLow-x", "Period": 60, "EvaluationPeriods": 15}
KEY = {
    "ServiceNamespace": "ecs",
    "ResourceId": autoscaling.resource_id(names),
    "ScalableDimension": "ecs:service:DesiredCount",
}


def _check(exercise_id, answer, **context):
    """Evaluate one answer of chapter 09 with the given context."""
    exercise = exercises.exercises_of("09")[exercise_id]
    return exercises.evaluate(exercise, answer, {"names": names, **context})


def _messages(outcome):
    return "\n".join(outcome.messages)


@pytest.mark.parametrize("exercise_id", list(exercises.exercises_of("09")))
def test_every_blank_check_says_not_done_yet_without_raising(exercise_id):
    """The chapter as shipped stays green: each blank prints 'not done yet'."""
    outcome = _check(exercise_id, ...)
    assert outcome.status == "not done"
    assert f"{exercise_id} not done yet" in str(outcome)


def test_shipped_blanks_are_blanks():
    """The notebook's blank shapes (a dict of ..., a function with ...) count as not done."""
    assert exercises.is_blank({"TargetValue": ..., "PredefinedMetricSpecification": {"x": ...}})

    def seconds_before_scale_in(alarm):
        period = ...
        datapoints = ...
        return period * datapoints

    assert exercises.is_blank(seconds_before_scale_in)
    assert not exercises.is_blank(solved.seconds_before_scale_in)


# ---- 09-1: target tracking for 60 % CPU -------------------------------------------------------


def test_target_tracking_solution_passes():
    """60.0 on ECSServiceAverageCPUUtilization, 60 s out, 300 s in."""
    assert _check("09-1", solved.cpu_near_60()).passed


def test_target_as_a_fraction_is_named():
    """0.6 is 0.6 %: the metric is a percentage."""
    text = _messages(_check("09-1", {**solved.cpu_near_60(), "TargetValue": 0.6}))
    assert "TargetValue is 0.6: the CPU metric is a percentage from 0 to 100" in text


def test_cloudwatch_metric_name_and_unknown_field_are_named():
    """CPUUtilization is not a predefined type; an alarm's field is not a policy field."""
    answer = {
        **solved.cpu_near_60(),
        "PredefinedMetricSpecification": {"PredefinedMetricType": "CPUUtilization"},
        "EvaluationPeriods": 3,
    }
    text = _messages(_check("09-1", answer))
    assert "PredefinedMetricType CPUUtilization is the CloudWatch metric's name" in text
    assert (
        'put_scaling_policy would refuse it: Unknown parameter in input: "EvaluationPeriods"'
        in (text)
    )


def test_swapped_and_missing_cooldowns_are_named():
    """300 out / 60 in is the wrong way round; no cooldown means ECS's 300 s default."""
    config = solved.cpu_near_60()
    swapped = {**config, "ScaleOutCooldown": 300, "ScaleInCooldown": 60}
    assert "the cooldowns are swapped" in _messages(_check("09-1", swapped))
    bare = {k: v for k, v in config.items() if k != "ScaleOutCooldown"}
    assert "ScaleOutCooldown is missing" in _messages(_check("09-1", bare))


def test_disable_scale_in_is_named():
    """DisableScaleIn=True pays for the peak after every burst."""
    text = _messages(_check("09-1", {**solved.cpu_near_60(), "DisableScaleIn": True}))
    assert "never removes a task" in text


# ---- 09-2: seconds before a scale-in ----------------------------------------------------------


def _seconds(value):
    return lambda alarm: value


def test_scale_in_solution_reads_the_alarm():
    """15 datapoints of 60 s is 900 s; an alarm with DatapointsToAlarm 10 gives 600 s."""
    assert _check("09-2", solved.seconds_before_scale_in, alarm=LOW).passed
    assert solved.seconds_before_scale_in({**LOW, "DatapointsToAlarm": 10}) == 600


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (300, "300 s is the ScaleInCooldown, a wait AFTER a scale-in"),
        (180, "is the HIGH alarm (3 of 3)"),
        (15, "15 is minutes; the function returns seconds"),
        (1200, "the scale-in cooldown does not delay the first scale-in"),
        (60, "60 s is one period, one datapoint"),
    ],
)
def test_typical_scale_in_mistakes_are_named(answer, said):
    """The guide's 5 minutes (the cooldown), the high alarm, minutes, cooldown added, one period."""
    assert said in _messages(_check("09-2", _seconds(answer), alarm=LOW))


# ---- 09-3: the scheduled action ----------------------------------------------------------------


@pytest.fixture
def target(ctx):
    """A minimal cluster and service (moto checks it exists) registered as the scalable target."""
    ecs = ctx.client("ecs")
    ecs.create_cluster(clusterName=names.cluster)
    family = ecs.register_task_definition(
        family=names.family,
        containerDefinitions=[{"name": names.container, "image": "x", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=names.cluster, serviceName=names.service, taskDefinition=family, desiredCount=1
    )
    client = ctx.client("application-autoscaling")
    client.register_scalable_target(**KEY, MinCapacity=1, MaxCapacity=3)
    return {"ctx": ctx, "client": client}


def _put(schedule="cron(0 8 ? * MON-FRI *)", low=2, high=3, name="business-hours-up", **extra):
    def put_business_hours(client):
        client.put_scheduled_action(
            **KEY,
            ScheduledActionName=name,
            Schedule=schedule,
            ScalableTargetAction={"MinCapacity": low, "MaxCapacity": high},
            **extra,
        )

    return put_business_hours


def test_scheduled_action_solution_matches_twice(target):
    """The stored solution passes, and a second run (reset first) passes again."""
    for _ in range(2):
        outcome = _check("09-3", solved.put_business_hours, **target)
        assert outcome.passed, outcome


def test_guide_form_missing_arguments_is_reported(target):
    """The guide's CLI form as boto3: the three missing required parameters are named."""

    def put_business_hours(client):
        client.put_scheduled_action(
            ServiceNamespace="ecs",
            Schedule="cron(0 8 ? * MON-FRI *)",
            ScalableTargetAction={"MinCapacity": 3, "MaxCapacity": 3},
        )

    text = _messages(_check("09-3", put_business_hours, **target))
    assert 'Missing required parameter in input: "ScheduledActionName"' in text
    assert 'Missing required parameter in input: "ResourceId"' in text


def test_unix_cron_and_pinned_minimum_are_named(target):
    """A five-field crontab and min = max = 3 (the guide's numbers)."""
    text = _messages(_check("09-3", _put("cron(0 8 * * MON-FRI)", low=3), **target))
    assert "has five fields, the Unix crontab form" in text
    assert "the action sets MinCapacity 3: all day you pay for 3 tasks" in text


@pytest.mark.parametrize(
    ("schedule", "said"),
    [
        ("cron(0 8 * * MON-FRI *)", "has no '?'"),
        ("cron(8 0 ? * MON-FRI *)", "runs at hour 0, minute 8 (minutes come first)"),
        ("cron(0 8 ? * 1-5 *)", "1-5 is Sunday to Thursday"),
    ],
)
def test_cron_mistakes_are_named(target, schedule, said):
    """Both day fields set, minutes and hours swapped, Unix day numbers."""
    assert said in _messages(_check("09-3", _put(schedule), **target))


def test_other_name_and_other_timezone_are_named(target):
    """Another action name is found and named; a local time zone is not 08:00 UTC."""
    text = _messages(_check("09-3", _put(name="workday-up"), **target))
    assert "found scheduled action 'workday-up'" in text
    zoned = _messages(_check("09-3", _put(Timezone="Europe/Berlin"), **target))
    assert "Timezone is Europe/Berlin" in zoned


def test_nothing_made_is_not_done(target):
    """A function that makes nothing leaves the action missing: not done, not raised."""
    outcome = _check("09-3", lambda client: None, **target)
    assert outcome.status == "not done"
    assert "no scheduled action business-hours-up" in _messages(outcome)


# ---- the comparison: the target and the CPU policy made by hand --------------------------------


def test_by_hand_target_and_policy_mistakes_are_explained(target):
    """Min 0, a fraction as the target and a missing cooldown: each named with its reason."""
    client = target["client"]
    client.register_scalable_target(**KEY, MinCapacity=0, MaxCapacity=3)
    client.put_scaling_policy(
        PolicyName=f"{names.service}-cpu",
        **KEY,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 0.7,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
            },
            "ScaleInCooldown": 300,
        },
    )
    resources = {"autoscaling": [KEY["ResourceId"], f"{names.service}-cpu"]}
    text = str(compare.against_reference(target["ctx"], names, resources))
    assert "MinCapacity is 0: once the service is at 0 tasks" in text
    assert "TargetValue is 0.7: CPU utilisation is a percentage" in text
    assert "ScaleOutCooldown: the cooldown is not set, so ECS's default of 300 s applies" in text
