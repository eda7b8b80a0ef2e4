"""Keep the service's Application Auto Scaling target, policies, alarm and schedules.

moto stores all of this (and makes the two alarms of each target-tracking policy) but never
scales and never runs an alarm action; deploy.models.scaling models what AWS would do with these
settings. The workbook's moto server serves describe_scaling_activities (an emulator extension:
the local data plane records what it scales); a plain moto server answers it with a 500
(localstack/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from deploy.aws.errors import BackendError, DeployError, InvalidInput, aws_errors
from deploy.aws.names import StackNames
from deploy.resources.contract import UNKNOWN, Change, Result, diff, known, require
from deploy.resources.outputs import AlbOutputs, AutoscalingOutputs, EcsOutputs
from service.aws import AwsContext

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
MIN_CAPACITY, MAX_CAPACITY = 1, 3
# Cooldowns are waits after a scaling activity, not "metric above target for N s" (errata 4).
SCALE_OUT_COOLDOWN, SCALE_IN_COOLDOWN = 60, 300
# Target tracking, one policy per metric: AWS scales out when ANY policy asks and scales in
# only when ALL agree. ALBRequestCountPerTarget is requests per target per MINUTE (errata 4).
TARGETS = {
    "cpu": ("ECSServiceAverageCPUUtilization", 70.0),
    "memory": ("ECSServiceAverageMemoryUtilization", 80.0),
    "requests": ("ALBRequestCountPerTarget", 100.0),
}
# Step scaling as a burst layer above target tracking: an alarm at 85 % CPU, one task more
# up to 10 points above it, two tasks beyond (bounds are offsets from the alarm threshold).
STEP_ALARM_THRESHOLD = 85.0
STEP_ADJUSTMENTS = [
    {"MetricIntervalLowerBound": 0.0, "MetricIntervalUpperBound": 10.0, "ScalingAdjustment": 1},
    {"MetricIntervalLowerBound": 10.0, "ScalingAdjustment": 2},
]
# Scheduled actions (UTC cron): office hours keep two tasks warm, evenings allow one.
SCHEDULES = {
    "business-hours-up": ("cron(0 8 ? * MON-FRI *)", 2, MAX_CAPACITY),
    "evening-down": ("cron(0 18 ? * MON-FRI *)", MIN_CAPACITY, MAX_CAPACITY),
}
# Where DescribeScalingActivities fails on moto: a server without the workbook's extension.
MOTO_HINT = (
    " (a plain moto server, such as compose's `moto` container, answers it with a 500); the "
    "workbook's own emulator serves it (`workbook stack emulator`, or a chapter's embedded one)"
)
POLICIES = ("cpu", "memory", "requests", "step", "schedule")
ALARM_KEYS = ("Threshold", "EvaluationPeriods", "DatapointsToAlarm", "Period", "AlarmActions")


def resource_id(names: StackNames) -> str:
    """Return the scalable target's resource id, service/<cluster>/<service>."""
    return f"service/{names.cluster}/{names.service}"


def policy_name(names: StackNames, which: str) -> str:
    """Return the name of one of the stack's scaling policies."""
    return f"{names.service}-{which}"


def alarm_name(names: StackNames) -> str:
    """Return the name of the step policy's CloudWatch alarm."""
    return f"{names.service}-cpu-high-step"


def _what(names: StackNames) -> str:
    return f"scalable target {resource_id(names)}"


def _key(names: StackNames) -> dict:
    return {
        "ServiceNamespace": NAMESPACE,
        "ResourceId": resource_id(names),
        "ScalableDimension": DIMENSION,
    }


def request_count_label(alb: AlbOutputs) -> str:
    """Return ALBRequestCountPerTarget's ResourceLabel: app/<alb>/<id>/targetgroup/<tg>/<id>."""
    if not (known(alb.load_balancer_arn) and known(alb.target_group_arn)):
        return UNKNOWN  # a plan before the ALB exists: the policy will be created with it
    # ARNs: ...:loadbalancer/app/<name>/<id> and ...:targetgroup/<name>/<id>
    lb = alb.load_balancer_arn.split(":loadbalancer/")[1]
    return f"{lb}/{alb.target_group_arn.split(':')[-1]}"


def find_target(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return the scalable target (min, max, suspended state) or None."""
    with aws_errors(_what(names), "application-autoscaling"):
        found = ctx.client("application-autoscaling").describe_scalable_targets(
            ServiceNamespace=NAMESPACE,
            ResourceIds=[resource_id(names)],
            ScalableDimension=DIMENSION,
        )["ScalableTargets"]
    return found[0] if found else None


def find_policies(ctx: AwsContext, names: StackNames) -> dict[str, dict]:
    """Return the target's scaling policies by name."""
    with aws_errors(_what(names), "application-autoscaling"):
        found = ctx.client("application-autoscaling").describe_scaling_policies(**_key(names))
    return {p["PolicyName"]: p for p in found["ScalingPolicies"]}


def find_schedules(ctx: AwsContext, names: StackNames) -> dict[str, dict]:
    """Return the target's scheduled actions by name."""
    with aws_errors(_what(names), "application-autoscaling"):
        found = ctx.client("application-autoscaling").describe_scheduled_actions(**_key(names))
    return {a["ScheduledActionName"]: a for a in found["ScheduledActions"]}


def find_alarm(ctx: AwsContext, names: StackNames) -> dict | None:
    """Return the step policy's CloudWatch alarm or None."""
    with aws_errors(f"alarm {alarm_name(names)}", "cloudwatch"):
        found = ctx.client("cloudwatch").describe_alarms(AlarmNames=[alarm_name(names)])
    return (found["MetricAlarms"] or [None])[0]


@dataclass(frozen=True)
class Found:
    """The scaling set-up as it is: target (or None), policies, schedules, step alarm."""

    target: dict | None
    policies: dict[str, dict]
    schedules: dict[str, dict]
    alarm: dict | None


def find(ctx: AwsContext, names: StackNames) -> Found:
    """Describe the target, its policies and schedules and the step alarm, once each."""
    target = find_target(ctx, names)
    if target is None:  # policies and schedules cannot exist without their target
        return Found(None, {}, {}, find_alarm(ctx, names))
    return Found(
        target, find_policies(ctx, names), find_schedules(ctx, names), find_alarm(ctx, names)
    )


def tracking_config(which: str, alb: AlbOutputs) -> dict:
    """Return a target-tracking policy's configuration (cpu, memory or requests)."""
    metric, target = TARGETS[which]
    spec: dict = {"PredefinedMetricType": metric}
    if which == "requests":
        spec["ResourceLabel"] = request_count_label(alb)
    return {
        "TargetValue": target,
        "PredefinedMetricSpecification": spec,
        "ScaleOutCooldown": SCALE_OUT_COOLDOWN,
        "ScaleInCooldown": SCALE_IN_COOLDOWN,
    }


def step_config() -> dict:
    """Return the step policy's configuration (one task, then two, above the alarm)."""
    return {
        "AdjustmentType": "ChangeInCapacity",
        "StepAdjustments": STEP_ADJUSTMENTS,
        "Cooldown": SCALE_OUT_COOLDOWN,
        "MetricAggregationType": "Average",
    }


def alarm_spec(names: StackNames, policy_arn: str) -> dict:
    """Return put_metric_alarm's arguments for the alarm that triggers the step policy."""
    return {
        "AlarmName": alarm_name(names),
        "AlarmDescription": "CPU far above target: add tasks in steps (step scaling policy)",
        "Namespace": "AWS/ECS",
        "MetricName": "CPUUtilization",
        "Dimensions": [
            {"Name": "ClusterName", "Value": names.cluster},
            {"Name": "ServiceName", "Value": names.service},
        ],
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "Threshold": STEP_ALARM_THRESHOLD,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [policy_arn],
    }


def _check(policies: tuple[str, ...], min_capacity: int, max_capacity: int) -> None:
    unknown = sorted(set(policies) - set(POLICIES))
    if unknown:
        raise InvalidInput(f"unknown scaling policy {unknown}; choose from {', '.join(POLICIES)}")
    for label, v in (("min_capacity", min_capacity), ("max_capacity", max_capacity)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise InvalidInput(f"{label} must be a whole number >= 0, got {v!r}")
    if min_capacity > max_capacity:
        raise InvalidInput(f"min_capacity {min_capacity} is above max_capacity {max_capacity}")


def _action(have: object, delta: dict) -> str:
    return "create" if have is None else ("update" if delta else "unchanged")


def _target(
    ctx: AwsContext, names: StackNames, found: Found, low: int, high: int, apply: bool
) -> Change:
    want = {"MinCapacity": low, "MaxCapacity": high}
    target = found.target
    delta = diff({k: target[k] for k in want} if target else {}, want)
    if delta and apply:
        with aws_errors(_what(names), "application-autoscaling"):
            ctx.client("application-autoscaling").register_scalable_target(
                **_key(names), **want, **({} if target else {"Tags": names.tags})
            )
    return Change("scalable-target", resource_id(names), _action(target, delta), delta)


def _policy(
    ctx: AwsContext, names: StackNames, found: Found, which: str, config: dict, apply: bool
) -> Change:
    """Converge one policy: target tracking (cpu/memory/requests) or step."""
    kind = "StepScaling" if which == "step" else "TargetTrackingScaling"
    config_key = f"{kind}PolicyConfiguration"
    name, existing = policy_name(names, which), found.policies.get(policy_name(names, which), {})
    have = existing.get(config_key)
    delta = {} if have is None else diff(have, config)
    arn = existing.get("PolicyARN")
    if (have is None or delta) and apply:
        with aws_errors(f"scaling policy {name}", "application-autoscaling"):
            arn = ctx.client("application-autoscaling").put_scaling_policy(
                PolicyName=name, **_key(names), PolicyType=kind, **{config_key: config}
            )["PolicyARN"]
    return Change("scaling-policy", name, _action(have, delta), delta, arn)


def _alarm(ctx: AwsContext, names: StackNames, found: Found, arn: str, apply: bool) -> Change:
    spec, alarm = alarm_spec(names, arn), found.alarm
    want = {k: spec[k] for k in ALARM_KEYS}
    delta = {} if alarm is None else diff({k: alarm.get(k) for k in ALARM_KEYS}, want)
    if (alarm is None or delta) and apply:
        with aws_errors(f"alarm {alarm_name(names)}", "cloudwatch"):
            ctx.client("cloudwatch").put_metric_alarm(**spec, Tags=names.tag_list())
    return Change("cloudwatch-alarm", alarm_name(names), _action(alarm, delta), delta)


def _schedules(
    ctx: AwsContext, names: StackNames, found: Found, max_capacity: int, apply: bool
) -> list[Change]:
    changes = []
    for name, (cron, low, high) in SCHEDULES.items():
        want = {"MinCapacity": low, "MaxCapacity": min(high, max_capacity)}
        have = found.schedules.get(name)
        delta = (
            {}
            if have is None
            else diff(
                {"Schedule": have["Schedule"], **have["ScalableTargetAction"]},
                {"Schedule": cron, **want},
            )
        )
        if (have is None or delta) and apply:
            with aws_errors(f"scheduled action {name}", "application-autoscaling"):
                ctx.client("application-autoscaling").put_scheduled_action(
                    ScheduledActionName=name,
                    **_key(names),
                    Schedule=cron,
                    Timezone="UTC",
                    ScalableTargetAction=want,
                )
        changes.append(Change("scheduled-action", name, _action(have, delta), delta))
    return changes


def _converge(
    ctx: AwsContext,
    names: StackNames,
    ecs: EcsOutputs,
    alb: AlbOutputs,
    policies: tuple[str, ...],
    min_capacity: int,
    max_capacity: int,
    apply: bool,
) -> Result:
    _check(policies, min_capacity, max_capacity)
    if apply:
        require("the ECS service", "autoscaling", ecs.service_arn)
        if "requests" in policies:
            require("the load balancer", "autoscaling", alb.load_balancer_arn)
            require("the target group", "autoscaling", alb.target_group_arn)
    found = find(ctx, names)
    changes = [_target(ctx, names, found, min_capacity, max_capacity, apply)]
    for which in [p for p in policies if p in TARGETS]:
        config = tracking_config(which, alb)
        changes.append(_policy(ctx, names, found, which, config, apply))
    if "step" in policies:
        step = _policy(ctx, names, found, "step", step_config(), apply)
        changes += [step, _alarm(ctx, names, found, step.arn or UNKNOWN, apply)]
    if "schedule" in policies:
        changes += _schedules(ctx, names, found, max_capacity, apply)
    arns = {c.name: c.arn or UNKNOWN for c in changes if c.kind == "scaling-policy"}
    return Result(changes, AutoscalingOutputs(resource_id(names), arns))


def plan(
    ctx: AwsContext,
    names: StackNames,
    *,
    ecs: EcsOutputs,
    alb: AlbOutputs,
    policies: tuple[str, ...] = POLICIES,
    min_capacity: int = MIN_CAPACITY,
    max_capacity: int = MAX_CAPACITY,
) -> Result:
    """Return what ensure would do to the target, policies, alarm and schedules."""
    return _converge(ctx, names, ecs, alb, tuple(policies), min_capacity, max_capacity, apply=False)


def ensure(
    ctx: AwsContext,
    names: StackNames,
    *,
    ecs: EcsOutputs,
    alb: AlbOutputs,
    policies: tuple[str, ...] = POLICIES,
    min_capacity: int = MIN_CAPACITY,
    max_capacity: int = MAX_CAPACITY,
) -> Result:
    """Register the service as a scalable target and converge its policies and schedules."""
    return _converge(ctx, names, ecs, alb, tuple(policies), min_capacity, max_capacity, apply=True)


def scaling_activities(ctx: AwsContext, names: StackNames, max_results: int = 10) -> list[dict]:
    """Return the target's recent scaling activities, newest first."""
    try:
        with aws_errors(_what(names), "application-autoscaling"):
            return ctx.client("application-autoscaling").describe_scaling_activities(
                **_key(names), MaxResults=max_results
            )["ScalingActivities"]
    except DeployError as exc:
        if "(500)" in str(exc) or "NotImplemented" in str(exc):
            hint = MOTO_HINT if ctx.kind == "moto" else ""
            raise BackendError(
                f"the {ctx.kind} backend at {ctx.endpoint_url or 'AWS'} does not implement "
                f"DescribeScalingActivities{hint}"
            ) from exc
        raise


def _activities(ctx: AwsContext, names: StackNames) -> dict:
    """Return describe's activities, or None and the reason where the backend lacks the call."""
    try:
        return {"activities": scaling_activities(ctx, names)}
    except BackendError as exc:
        return {"activities": None, "activities_unavailable": str(exc)}


def describe(ctx: AwsContext, names: StackNames) -> dict:
    """Return the target's range, its policies (with their alarms), schedules and activities."""
    found = find(ctx, names)
    if found.target is None:
        return {"resource_id": resource_id(names), "target": None}
    return {
        "resource_id": resource_id(names),
        "target": {"min": found.target["MinCapacity"], "max": found.target["MaxCapacity"]},
        "policies": {
            name: {"type": p["PolicyType"], "alarms": [a["AlarmName"] for a in p.get("Alarms", [])]}
            for name, p in found.policies.items()
        },
        "schedules": {n: a["Schedule"] for n, a in found.schedules.items()},
        "step_alarm": (found.alarm or {}).get("AlarmName"),
        **_activities(ctx, names),
    }


def delete(ctx: AwsContext, names: StackNames) -> list[Change]:
    """Delete the alarm, policies (and their managed alarms), schedules and the target."""
    found, aas, changes = find(ctx, names), ctx.client("application-autoscaling"), []
    if found.alarm is not None:
        with aws_errors(f"alarm {alarm_name(names)}", "cloudwatch"):
            ctx.client("cloudwatch").delete_alarms(AlarmNames=[alarm_name(names)])
        changes.append(Change("cloudwatch-alarm", alarm_name(names), "delete"))
    for name in found.policies:
        with aws_errors(f"scaling policy {name}", "application-autoscaling"):
            aas.delete_scaling_policy(PolicyName=name, **_key(names))
        changes.append(Change("scaling-policy", name, "delete"))
    for name in found.schedules:
        with aws_errors(f"scheduled action {name}", "application-autoscaling"):
            aas.delete_scheduled_action(ScheduledActionName=name, **_key(names))
        changes.append(Change("scheduled-action", name, "delete"))
    if found.target is None:
        changes.append(Change("scalable-target", resource_id(names), "absent"))
    else:
        with aws_errors(_what(names), "application-autoscaling"):
            aas.deregister_scalable_target(**_key(names))
        changes.append(Change("scalable-target", resource_id(names), "delete"))
    return changes
