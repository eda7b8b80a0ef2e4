"""Chapter 09's exercises: a target-tracking configuration, scale-in time, the scheduled action."""

from __future__ import annotations

import botocore.session
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator

from deploy.aws.names import StackNames
from deploy.resources import autoscaling
from service.aws import AwsContext
from workbook import compare
from workbook.exercises import Exercise, NotDone

# ---- 09-1: a target-tracking configuration for "keep CPU near 60 %" ---------------------------

CPU_METRIC = "ECSServiceAverageCPUUtilization"
WANT_TARGET = 60.0
OTHER_METRICS = {
    "ECSServiceAverageMemoryUtilization": "tracks memory, not CPU",
    "ALBRequestCountPerTarget": (
        "tracks requests per target per minute, not CPU (and needs a ResourceLabel naming the "
        "load balancer and target group)"
    ),
    "CPUUtilization": (
        "is the CloudWatch metric's name; a predefined specification takes a predefined type, "
        "and AWS refuses this one (ValidationException)"
    ),
}


def _config_shape():
    """Return botocore's shape of TargetTrackingScalingPolicyConfiguration (no network)."""
    model = botocore.session.get_session().get_service_model("application-autoscaling")
    request = model.operation_model("PutScalingPolicy").input_shape
    return request.members["TargetTrackingScalingPolicyConfiguration"]


def _shape_problems(answer: dict) -> list[str]:
    """Return what put_scaling_policy's own parameter validation would refuse, line by line."""
    report = ParamValidator().validate(answer, _config_shape())
    if not report.has_errors():
        return []
    lines = report.generate_report().splitlines()
    return [f"put_scaling_policy would refuse it: {line.strip()}" for line in lines if line.strip()]


def _cooldown(answer: dict, key: str, want: int, default_note: str) -> str | None:
    have = answer.get(key)
    if have is None:
        return (
            f"{key} is missing: {default_note}; a cooldown is a wait after a scaling activity, "
            "and ECS's default is 300 s for both"
        )
    if have != want:
        return f"{key} is {have}: {default_note}"
    return None


def check_target_tracking(answer: object) -> list[str]:
    """Check a TargetTrackingScalingPolicyConfiguration for "keep CPU near 60 %"."""
    if not isinstance(answer, dict):
        return [
            "the answer is the dict put_scaling_policy takes as "
            f"TargetTrackingScalingPolicyConfiguration, got {type(answer).__name__}"
        ]
    problems = _shape_problems(answer)
    target = answer.get("TargetValue")
    if isinstance(target, int | float) and not isinstance(target, bool):
        if 0 < target <= 1:
            problems.append(
                f"TargetValue is {target}: the CPU metric is a percentage from 0 to 100, so "
                f"{target} means {target} % and the service would sit at its maximum; write 60.0"
            )
        elif target != WANT_TARGET:
            problems.append(f"TargetValue is {target}: keeping CPU near 60 % is 60.0")
    spec = answer.get("PredefinedMetricSpecification")
    if "CustomizedMetricSpecification" in answer:
        problems.append(
            "CustomizedMetricSpecification is for a metric of your own; average service CPU is "
            "predefined, and AWS refuses a configuration that gives both"
        )
    if not isinstance(spec, dict):
        problems.append(
            "PredefinedMetricSpecification is missing: it names what to track, "
            f"{{'PredefinedMetricType': '{CPU_METRIC}'}}"
        )
    else:
        metric = spec.get("PredefinedMetricType")
        if metric in OTHER_METRICS:
            problems.append(
                f"PredefinedMetricType {metric} {OTHER_METRICS[metric]}; use {CPU_METRIC}"
            )
        elif metric != CPU_METRIC:
            problems.append(f"PredefinedMetricType is {metric!r}; average CPU is {CPU_METRIC}")
        if metric == CPU_METRIC and "ResourceLabel" in spec:
            problems.append(
                "ResourceLabel is only for ALBRequestCountPerTarget; AWS refuses it on a CPU "
                "metric (ValidationException)"
            )
    out = _cooldown(
        answer,
        "ScaleOutCooldown",
        autoscaling.SCALE_OUT_COOLDOWN,
        f"the stack waits {autoscaling.SCALE_OUT_COOLDOWN} s after adding tasks, so a burst that "
        "keeps growing gets its next task a minute later, not five",
    )
    in_ = _cooldown(
        answer,
        "ScaleInCooldown",
        autoscaling.SCALE_IN_COOLDOWN,
        f"the stack waits {autoscaling.SCALE_IN_COOLDOWN} s after removing a task before removing "
        "another, so a short dip does not strip tasks one a minute",
    )
    if (answer.get("ScaleOutCooldown"), answer.get("ScaleInCooldown")) == (
        autoscaling.SCALE_IN_COOLDOWN,
        autoscaling.SCALE_OUT_COOLDOWN,
    ):
        problems.append(
            "the cooldowns are swapped: scale out quickly (60 s) and scale in slowly (300 s); "
            "removing capacity too eagerly is what hurts users"
        )
    else:
        problems += [m for m in (out, in_) if m]
    if answer.get("DisableScaleIn") is True:
        problems.append(
            "DisableScaleIn is True: the policy then never removes a task, so after a burst you "
            "pay for the peak until someone lowers the count by hand"
        )
    return problems


# ---- 09-2: how long before target tracking scales in ------------------------------------------


def check_scale_in_seconds(answer: object, alarm: dict) -> list[str]:
    """Check the seconds of low load before the low alarm (and so a scale-in) can fire."""
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        return [f"the function returns seconds (a number), got {type(answer).__name__}"]
    period = alarm["Period"]
    datapoints = alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"]
    want = period * datapoints
    if answer == want:
        return []
    said = f"{datapoints} datapoints of {period} s"
    if answer == want / 60:
        return [f"{answer:g} is minutes; the function returns seconds ({said})"]
    if answer == period:
        return [
            f"{period} s is one period, one datapoint: the low alarm needs {datapoints} "
            "datapoints below its threshold in a row before it fires"
        ]
    if answer == datapoints:
        return [f"{datapoints} is how many datapoints; each covers Period = {period} s"]
    if answer == autoscaling.SCALE_IN_COOLDOWN:
        return [
            f"{answer:g} s is the ScaleInCooldown, a wait AFTER a scale-in before the next one; "
            "the time the load must stay low comes from the low alarm's datapoints"
        ]
    if answer == period * 3:
        return [
            f"{answer:g} s is the HIGH alarm (3 of 3), the one that scales out; scale-in is the "
            f"LOW alarm's job: {said}"
        ]
    if answer == want + autoscaling.SCALE_IN_COOLDOWN:
        return [
            "the scale-in cooldown does not delay the first scale-in, it only spaces the next "
            f"ones: {said} is the wait"
        ]
    return [f"{answer:g} s: the low alarm fires after {said}, read from the alarm itself"]


# ---- 09-3: the scheduled action, by hand -------------------------------------------------------

SCHEDULE_NAME = "business-hours-up"


def check_scheduled_action(answer: object, ctx: AwsContext, names: StackNames) -> list[str]:
    """Compare the scheduled action the learner's function made with the reference."""
    found = compare.against_reference(ctx, names, {"autoscaling": [SCHEDULE_NAME]})
    have = autoscaling.find_schedules(ctx, names)
    if found.missing:
        others = sorted(set(have) - set(autoscaling.SCHEDULES))
        if others:
            return [
                f"found scheduled action {others[0]!r}: the reference calls it {SCHEDULE_NAME} "
                "(the stack converges it by name, so under another name apply would add a "
                "second one)"
            ]
        raise NotDone(
            f"no scheduled action {SCHEDULE_NAME} on {autoscaling.resource_id(names)} after your "
            "function ran: did it call put_scheduled_action?"
        )
    problems = [f"{f.field}: {f.message}" for f in found.findings]
    timezone = have.get(SCHEDULE_NAME, {}).get("Timezone")
    if timezone and timezone not in ("UTC", "Etc/UTC"):
        problems.append(
            f"Timezone is {timezone}: the cron then runs at 08:00 {timezone}, not 08:00 UTC; "
            "leave it out (UTC is the default) or pass 'UTC'"
        )
    return problems


def reset_scheduled_action(ctx: AwsContext, names: StackNames) -> None:
    """Delete the scheduled actions an earlier attempt made (all but the package's others)."""
    client, keep = ctx.client("application-autoscaling"), set(autoscaling.SCHEDULES)
    for name in set(autoscaling.find_schedules(ctx, names)) - (keep - {SCHEDULE_NAME}):
        try:
            client.delete_scheduled_action(
                ServiceNamespace=autoscaling.NAMESPACE,
                ScheduledActionName=name,
                ResourceId=autoscaling.resource_id(names),
                ScalableDimension=autoscaling.DIMENSION,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ObjectNotFoundException":
                raise


EXERCISES = [
    Exercise(
        "09-1",
        "Write the TargetTrackingScalingPolicyConfiguration that keeps average service CPU near "
        "60 %, with the stack's cooldowns (scale out after 60 s, scale in after 300 s).",
        check_target_tracking,
    ),
    Exercise(
        "09-2",
        "Complete seconds_before_scale_in: from the low alarm target tracking made (as "
        "describe_alarms returns it), return how many seconds of low load pass before it can "
        "fire a scale-in.",
        check_scale_in_seconds,
        args=("alarm",),
    ),
    Exercise(
        "09-3",
        "Complete put_business_hours: a scheduled action business-hours-up that, on weekdays at "
        "08:00 UTC, sets the service's range to min 2, max 3. Give put_scheduled_action all "
        "its required arguments. (Each run deletes what an earlier attempt made.)",
        check_scheduled_action,
        args=("client",),
        reset=reset_scheduled_action,
    ),
]
