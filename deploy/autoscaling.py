"""Keep the service's Application Auto Scaling target, policies, alarm and schedules.

moto stores all of this (and makes the two alarms of each target-tracking policy) but never
scales, never runs an alarm action and answers describe_scaling_activities with a 500
(reference/emulators.md); deploy.scaling models what AWS would do with these settings.
"""

from __future__ import annotations

from deploy.changes import Change, diff
from deploy.clients import client
from deploy.errors import DeployError, InvalidInput, aws_errors
from deploy.names import StackNames

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
POLICIES = ("cpu", "memory", "requests", "step", "schedule")


def _aas():
    return client("application-autoscaling")


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


def request_count_label(names: StackNames) -> str | None:
    """Return ALBRequestCountPerTarget's ResourceLabel: app/<alb>/<id>/targetgroup/<tg>/<id>."""
    from deploy import alb

    tg, lb = alb.find_target_group(names), alb.find_load_balancer(names)
    if tg is None or lb is None:
        return None
    # ARNs: ...:loadbalancer/app/<name>/<id> and ...:targetgroup/<name>/<id>
    return (
        f"{lb['LoadBalancerArn'].split(':loadbalancer/')[1]}/{tg['TargetGroupArn'].split(':')[-1]}"
    )


def find_target(names: StackNames) -> dict | None:
    """Return the scalable target (min, max, suspended state) or None."""
    with aws_errors(_what(names), "application-autoscaling"):
        found = _aas().describe_scalable_targets(
            ServiceNamespace=NAMESPACE,
            ResourceIds=[resource_id(names)],
            ScalableDimension=DIMENSION,
        )["ScalableTargets"]
    return found[0] if found else None


def find_policies(names: StackNames) -> dict[str, dict]:
    """Return the target's scaling policies by name."""
    with aws_errors(_what(names), "application-autoscaling"):
        found = _aas().describe_scaling_policies(
            ServiceNamespace=NAMESPACE, ResourceId=resource_id(names), ScalableDimension=DIMENSION
        )["ScalingPolicies"]
    return {p["PolicyName"]: p for p in found}


def find_schedules(names: StackNames) -> dict[str, dict]:
    """Return the target's scheduled actions by name."""
    with aws_errors(_what(names), "application-autoscaling"):
        found = _aas().describe_scheduled_actions(
            ServiceNamespace=NAMESPACE, ResourceId=resource_id(names), ScalableDimension=DIMENSION
        )["ScheduledActions"]
    return {a["ScheduledActionName"]: a for a in found}


def find_alarm(names: StackNames) -> dict | None:
    """Return the step policy's CloudWatch alarm or None."""
    with aws_errors(f"alarm {alarm_name(names)}", "cloudwatch"):
        found = client("cloudwatch").describe_alarms(AlarmNames=[alarm_name(names)])
    return (found["MetricAlarms"] or [None])[0]


def _tracking_config(names: StackNames, which: str) -> dict | None:
    metric, target = TARGETS[which]
    spec: dict = {"PredefinedMetricType": metric}
    if which == "requests":
        label = request_count_label(names)
        if label is None:
            return None
        spec["ResourceLabel"] = label
    return {
        "TargetValue": target,
        "PredefinedMetricSpecification": spec,
        "ScaleOutCooldown": SCALE_OUT_COOLDOWN,
        "ScaleInCooldown": SCALE_IN_COOLDOWN,
    }


def _step_config() -> dict:
    return {
        "AdjustmentType": "ChangeInCapacity",
        "StepAdjustments": STEP_ADJUSTMENTS,
        "Cooldown": SCALE_OUT_COOLDOWN,
        "MetricAggregationType": "Average",
    }


def _alarm_spec(names: StackNames, policy_arn: str | None) -> dict:
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
        "AlarmActions": [policy_arn] if policy_arn else [],
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


def _converge(
    names: StackNames, policies: tuple[str, ...], min_capacity: int, max_capacity: int, apply: bool
) -> list[Change]:
    _check(policies, min_capacity, max_capacity)
    aas, changes = _aas(), []
    rid = resource_id(names)
    target = find_target(names)
    want = {"MinCapacity": min_capacity, "MaxCapacity": max_capacity}
    have = {k: target[k] for k in want} if target else {}
    delta = diff(have, want)
    if delta and apply:
        with aws_errors(_what(names), "application-autoscaling"):
            aas.register_scalable_target(
                **_key(names),
                **want,
                **({} if target else {"Tags": names.tags}),
            )
    action = "create" if target is None else ("update" if delta else "unchanged")
    changes.append(Change("scalable-target", rid, action, delta))

    existing = find_policies(names) if target else {}
    for which in [p for p in policies if p in TARGETS]:
        config = _tracking_config(names, which)
        name = policy_name(names, which)
        if config is None:  # the ALB is not there yet: plan shows it, apply cannot make it
            changes.append(Change("scaling-policy", name, "create", {"needs": "alb"}))
            continue
        have_cfg = existing.get(name, {}).get("TargetTrackingScalingPolicyConfiguration")
        delta = {} if have_cfg is None else diff(have_cfg, config)
        if (have_cfg is None or delta) and apply:
            with aws_errors(f"scaling policy {name}", "application-autoscaling"):
                aas.put_scaling_policy(
                    PolicyName=name,
                    **_key(names),
                    PolicyType="TargetTrackingScaling",
                    TargetTrackingScalingPolicyConfiguration=config,
                )
        action = "create" if have_cfg is None else ("update" if delta else "unchanged")
        changes.append(Change("scaling-policy", name, action, delta))

    if "step" in policies:
        name = policy_name(names, "step")
        have_cfg = existing.get(name, {}).get("StepScalingPolicyConfiguration")
        delta = {} if have_cfg is None else diff(have_cfg, _step_config())
        arn = existing.get(name, {}).get("PolicyARN")
        if (have_cfg is None or delta) and apply:
            with aws_errors(f"scaling policy {name}", "application-autoscaling"):
                arn = aas.put_scaling_policy(
                    PolicyName=name,
                    **_key(names),
                    PolicyType="StepScaling",
                    StepScalingPolicyConfiguration=_step_config(),
                )["PolicyARN"]
        action = "create" if have_cfg is None else ("update" if delta else "unchanged")
        changes.append(Change("scaling-policy", name, action, delta, arn))
        alarm = find_alarm(names)
        spec = _alarm_spec(names, arn)
        keys = ("Threshold", "EvaluationPeriods", "DatapointsToAlarm", "Period", "AlarmActions")
        delta = (
            {}
            if alarm is None
            else diff({k: alarm.get(k) for k in keys}, {k: spec[k] for k in keys})
        )
        if (alarm is None or delta) and apply:
            with aws_errors(f"alarm {alarm_name(names)}", "cloudwatch"):
                client("cloudwatch").put_metric_alarm(**spec, Tags=names.tag_list())
        action = "create" if alarm is None else ("update" if delta else "unchanged")
        changes.append(Change("cloudwatch-alarm", alarm_name(names), action, delta))

    if "schedule" in policies:
        scheduled = find_schedules(names) if target else {}
        for name, (cron, low, high) in SCHEDULES.items():
            want_action = {"MinCapacity": low, "MaxCapacity": min(high, max_capacity)}
            have_action = scheduled.get(name)
            delta = (
                {}
                if have_action is None
                else diff(
                    {"Schedule": have_action["Schedule"], **have_action["ScalableTargetAction"]},
                    {"Schedule": cron, **want_action},
                )
            )
            if (have_action is None or delta) and apply:
                with aws_errors(f"scheduled action {name}", "application-autoscaling"):
                    aas.put_scheduled_action(
                        ScheduledActionName=name,
                        **_key(names),
                        Schedule=cron,
                        Timezone="UTC",
                        ScalableTargetAction=want_action,
                    )
            action = "create" if have_action is None else ("update" if delta else "unchanged")
            changes.append(Change("scheduled-action", name, action, delta))
    return changes


def plan(
    names: StackNames,
    *,
    policies: tuple[str, ...] = POLICIES,
    min_capacity: int = MIN_CAPACITY,
    max_capacity: int = MAX_CAPACITY,
) -> list[Change]:
    """Return what ensure would do to the target, policies, alarm and schedules."""
    return _converge(names, tuple(policies), min_capacity, max_capacity, apply=False)


def ensure(
    names: StackNames,
    *,
    policies: tuple[str, ...] = POLICIES,
    min_capacity: int = MIN_CAPACITY,
    max_capacity: int = MAX_CAPACITY,
) -> list[Change]:
    """Register the service as a scalable target and converge its policies and schedules."""
    return _converge(names, tuple(policies), min_capacity, max_capacity, apply=True)


def scaling_activities(names: StackNames, max_results: int = 10) -> list[dict] | None:
    """Return recent scaling activities, or None where the backend does not implement them."""
    from deploy.backend import is_moto

    if is_moto():
        return None  # moto: NotImplementedError -> HTTP 500, and retries only slow it down
    try:
        with aws_errors(_what(names), "application-autoscaling"):
            return _aas().describe_scaling_activities(**_key(names), MaxResults=max_results)[
                "ScalingActivities"
            ]
    except DeployError as exc:
        if "(500)" in str(exc) or "NotImplemented" in str(exc):
            return None
        raise


def describe(names: StackNames) -> dict:
    """Return the target's range, its policies (with their alarms), schedules and activities."""
    target = find_target(names)
    if target is None:
        return {"resource_id": resource_id(names), "target": None}
    return {
        "resource_id": resource_id(names),
        "target": {"min": target["MinCapacity"], "max": target["MaxCapacity"]},
        "policies": {
            name: {"type": p["PolicyType"], "alarms": [a["AlarmName"] for a in p.get("Alarms", [])]}
            for name, p in find_policies(names).items()
        },
        "schedules": {n: a["Schedule"] for n, a in find_schedules(names).items()},
        "step_alarm": (find_alarm(names) or {}).get("AlarmName"),
        "activities": scaling_activities(names),
    }


def delete(names: StackNames) -> list[Change]:
    """Delete the alarm, policies (and their managed alarms), schedules and the target."""
    aas, changes = _aas(), []
    if find_alarm(names) is not None:
        with aws_errors(f"alarm {alarm_name(names)}", "cloudwatch"):
            client("cloudwatch").delete_alarms(AlarmNames=[alarm_name(names)])
        changes.append(Change("cloudwatch-alarm", alarm_name(names), "delete"))
    for name in find_policies(names):
        with aws_errors(f"scaling policy {name}", "application-autoscaling"):
            aas.delete_scaling_policy(PolicyName=name, **_key(names))
        changes.append(Change("scaling-policy", name, "delete"))
    for name in find_schedules(names):
        with aws_errors(f"scheduled action {name}", "application-autoscaling"):
            aas.delete_scheduled_action(ScheduledActionName=name, **_key(names))
        changes.append(Change("scheduled-action", name, "delete"))
    if find_target(names) is None:
        changes.append(Change("scalable-target", resource_id(names), "absent"))
    else:
        with aws_errors(_what(names), "application-autoscaling"):
            aas.deregister_scalable_target(**_key(names))
        changes.append(Change("scalable-target", resource_id(names), "delete"))
    return changes
