"""Application Auto Scaling for ECS services on the local data plane: policies act on real metrics.

moto stores scalable targets and scaling policies but never scales. While an `Autoscaler` runs
(a data-plane part, after emulator.metrics.MetricsPublisher, whose minutes drive it), it does
what Application Auto Scaling and CloudWatch alarms do, once per AWS minute:
- it reads each ECS scalable target (min, max, suspended state) and its policies back from
  moto's Application Auto Scaling, and the metric datapoints from moto's CloudWatch;
- target tracking: the high alarm needs 3 of 3 one-minute datapoints above the target, the low
  alarm 15 of 15 below 90 % of it (deploy.models.scaling.TargetTracking holds these, and
  `target_tracking_desired` the new count); scale out when ANY policy's high alarm fires, scale
  in only when EVERY policy with scale-in enabled is ready, after its scale-in cooldown; during
  a scale-out cooldown only a larger count than the one desired counts. A missing datapoint
  (no task running; no request through the ALB that minute) leaves the alarm without data,
  and nothing scales on it: an idle service tracked on ALBRequestCountPerTarget alone never
  scales in, as on AWS. No scale-in while an ECS deployment is in progress.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html
  https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
- step scaling: the policy's own CloudWatch alarm (DatapointsToAlarm of EvaluationPeriods, a
  missing datapoint counted as TreatMissingData says: breaching, else not), the step whose
  bounds hold the distance from the threshold, the adjustment type, the cooldown.
  https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html
- an alarm in ALARM invokes its Auto Scaling action again every minute it stays there.
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
- scheduled actions (unless ScheduledScalingSuspended): each one whose at/rate/cron schedule
  (deploy.models.schedule, in its Timezone, between its StartTime and EndTime) fires in the
  minute sets the target's min and/or max capacity; a count below the new minimum scales out
  to it, one above the new maximum scales in to it (the activity's Cause wording is ours).
  https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-scheduled-scaling.html
- the count is kept within min and max capacity; it changes through moto's UpdateService
  (desiredCount), so emulator.scheduler starts and stops the tasks; each change is a scaling
  activity (emulator.scaling_activities) with AWS's wording, and the alarms' states are written
  back to CloudWatch.
Target tracking's own alarms as moto makes them watch CPU with a threshold of 6 whatever the
policy; the autoscaler rewrites them to the metric, statistic and thresholds it evaluates, so
`aws cloudwatch describe-alarms` shows what fires. localstack/README.md lists both extensions.

Clock: AWS minutes on the metrics part's clock; a compressed clock makes the 15-minute
scale-in take seconds, and every activity's Details names the clock.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deploy.models import schedule
from deploy.models.common import ModelError
from deploy.models.scaling import (
    StepAdjustment,
    StepScaling,
    TargetTracking,
    target_tracking_desired,
)
from deploy.resources.autoscaling import DIMENSION, NAMESPACE
from emulator import scaling_activities
from emulator.metrics import ECS_NAMESPACE, ELB_NAMESPACE, MINUTE, MetricsPublisher
from emulator.service_hooks import install_service_extensions

log = logging.getLogger(__name__)

DEFAULT_COOLDOWN = 300  # AWS seconds: ECS's default scale-out and scale-in cooldowns
# Predefined metric -> (namespace, metric name, statistic) the target-tracking alarms watch.
PREDEFINED = {
    "ECSServiceAverageCPUUtilization": (ECS_NAMESPACE, "CPUUtilization", "Average"),
    "ECSServiceAverageMemoryUtilization": (ECS_NAMESPACE, "MemoryUtilization", "Average"),
    "ALBRequestCountPerTarget": (ELB_NAMESPACE, "RequestCountPerTarget", "Sum"),
}
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanOrEqualToThreshold": "<=",
    "LessThanThreshold": "<",
}
WORDS = {
    ">=": "greater than or equal to",
    ">": "greater than",
    "<=": "less than or equal to",
    "<": "less than",
}


@dataclass(frozen=True)
class Watched:
    """A metric an alarm watches: namespace, name, statistic and dimensions."""

    namespace: str
    metric: str
    statistic: str
    dimensions: tuple[tuple[str, str], ...]

    def dimension_list(self) -> list[dict[str, str]]:
        """Return the dimensions as CloudWatch's API takes them."""
        return [{"Name": n, "Value": v} for n, v in self.dimensions]


@dataclass(frozen=True)
class Proposal:
    """A new desired count a policy asks for, and why (AWS's cause wording)."""

    count: int
    alarm: str
    policy: str
    step_policy: str | None = None  # a step policy's ARN (None: target tracking)
    starts_cooldown: bool = False  # a step policy outside its cooldown starts one if taken
    scheduled: str | None = None  # a scheduled action's cause (the emulator's wording)

    @property
    def cause(self) -> str:
        if self.scheduled:
            return self.scheduled
        return f"monitor alarm {self.alarm} in state ALARM triggered policy {self.policy}"


@dataclass
class TargetState:
    """What the autoscaler remembers of one scalable target between minutes."""

    last_scale_in: float = -math.inf  # AWS seconds on the minute timeline
    step_last: dict[str, float] = field(default_factory=dict)  # policy ARN -> AWS seconds
    step_base: dict[str, int] = field(default_factory=dict)  # count when its cooldown began


def tracked_metric(config: dict, resource_id: str) -> Watched:
    """Return the metric a target-tracking configuration tracks for an ECS service."""
    _, cluster, service = resource_id.split("/")
    predefined = config.get("PredefinedMetricSpecification")
    if predefined:
        kind = predefined.get("PredefinedMetricType")
        if kind not in PREDEFINED:
            raise ModelError(f"predefined metric {kind!r} is not an ECS service metric")
        namespace, metric, statistic = PREDEFINED[kind]
        if namespace == ECS_NAMESPACE:
            return Watched(
                namespace,
                metric,
                statistic,
                (("ClusterName", cluster), ("ServiceName", service)),
            )
        label = predefined.get("ResourceLabel") or ""
        lb, sep, group = label.partition("/targetgroup/")
        if not (lb.startswith("app/") and sep):
            raise ModelError(
                f"ResourceLabel {label!r} is not app/<alb>/<id>/targetgroup/<group>/<id>"
            )
        dims = (("LoadBalancer", lb), ("TargetGroup", f"targetgroup/{group}"))
        return Watched(namespace, metric, statistic, dims)
    custom = config.get("CustomizedMetricSpecification") or {}
    if not custom.get("MetricName"):
        raise ModelError("a target-tracking policy needs a predefined or customized metric")
    dims = tuple((d["Name"], d["Value"]) for d in custom.get("Dimensions") or [])
    return Watched(
        custom.get("Namespace", ""), custom["MetricName"], custom.get("Statistic", "Average"), dims
    )


def tracking_rules(config: dict) -> TargetTracking:
    """Return the scaling model's target-tracking rules for a policy configuration."""
    kind = (config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType", "")
    return TargetTracking(
        target=float(config["TargetValue"]),
        # "cpu" checks a percent target (<= 100); any other metric is a count, as requests
        metric="cpu" if "Utilization" in kind else "requests",
        scale_out_cooldown_s=float(config.get("ScaleOutCooldown", DEFAULT_COOLDOWN)),
        scale_in_cooldown_s=float(config.get("ScaleInCooldown", DEFAULT_COOLDOWN)),
        disable_scale_in=bool(config.get("DisableScaleIn", False)),
    )


def step_rules(config: dict, alarm: Any) -> StepScaling:
    """Return the scaling model's step rules for a step policy and its CloudWatch alarm."""
    steps = tuple(
        StepAdjustment(
            s.get("MetricIntervalLowerBound"),
            s.get("MetricIntervalUpperBound"),
            float(s["ScalingAdjustment"]),
        )
        for s in config.get("StepAdjustments") or []
    )
    comparison = COMPARISONS.get(alarm.comparison_operator)
    if comparison is None:
        raise ModelError(f"alarm {alarm.name}: comparison {alarm.comparison_operator!r}")
    return StepScaling(
        threshold=float(alarm.threshold),
        steps=steps,
        comparison=comparison,
        adjustment_type=config.get("AdjustmentType", "ChangeInCapacity"),
        metric="requests",  # any metric: the model checks only the name's kind
        datapoints=int(alarm.datapoints_to_alarm or alarm.evaluation_periods or 1),
        cooldown_s=float(config.get("Cooldown", DEFAULT_COOLDOWN)),
        min_adjustment_magnitude=config.get("MinAdjustmentMagnitude"),
    )


def _when(value: Any) -> datetime | None:
    """Return a moto timestamp (epoch seconds, ISO text or datetime) as aware UTC, or None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) or str(value).replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(value), UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Autoscaler:
    """A data-plane part: Application Auto Scaling's policies for ECS services, on real metrics."""

    def __init__(self, metrics: MetricsPublisher) -> None:
        self.metrics = metrics
        self.plane: Any = None
        self.lock = threading.Lock()
        self._states: dict[str, TargetState] = {}  # by resource id
        self._running = False

    def __repr__(self) -> str:
        clock = self.metrics.timeline.label if self.metrics.timeline else "not started"
        return f"Autoscaler(local data plane, {clock})"

    def start(self, plane: Any) -> Autoscaler:
        """Serve scaling activities and evaluate the policies after each published minute."""
        self.plane = plane
        install_service_extensions()
        scaling_activities.install()
        self._running = True
        self.metrics.add_listener(self.evaluate)
        return self

    def stop(self) -> None:
        """Stop acting on the metrics."""
        self._running = False

    @property
    def details(self) -> str:
        """Return an activity's Details: who took it, on which clock."""
        return f"Taken by the local data plane ({self.metrics.timeline.label})."

    # ------------------------------------------------------------ one minute

    def evaluate(self, k: int) -> None:
        """Evaluate every ECS scalable target's policies at the end of minute k."""
        if not self._running:
            return
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        aas = applicationautoscaling_backends[self.plane.account_id][self.plane.region]
        with self.lock:
            for target in aas.describe_scalable_targets(NAMESPACE, None, DIMENSION):
                try:
                    self._target(aas, target, k)
                except ModelError as exc:  # a policy AWS would have refused: skip it, say so
                    log.warning("autoscaler: %s: %s", target.resource_id, exc)

    def _target(self, aas: Any, target: Any, k: int) -> None:
        service = self._service(target.resource_id)
        if service is None:
            return
        st = self._states.setdefault(target.resource_id, TargetState())
        end = MINUTE * (k + 1)  # AWS seconds since the timeline began
        suspended = target.suspended_state or {}
        if not suspended.get("ScheduledScalingSuspended"):
            self._scheduled(aas, target, service, st, k, end)
        _, found = aas.describe_scaling_policies(
            NAMESPACE, target.resource_id, DIMENSION, None, None
        )
        # moto matches the resource id as a substring (service/c/s finds service/c/s-2's too)
        policies = [p for p in found if p.resource_id == target.resource_id]
        outs: list[Proposal] = []
        ins: list[Proposal] = []
        ready_in: list[bool] = []
        desired, running = service.desired_count, service.running_count
        for policy in policies:
            if policy.policy_type == "TargetTrackingScaling":
                self._tracking(policy, st, k, end, desired, running, outs, ins, ready_in)
            elif policy.policy_type == "StepScaling":
                self._step(policy, st, k, end, desired, outs, ins)
        low, high = int(target.min_capacity or 0), int(target.max_capacity or 0)
        if outs:  # any policy asking for more wins over every scale-in
            best = max(outs, key=lambda p: p.count)
            new = max(low, min(high, best.count))
            if new > desired and not suspended.get("DynamicScalingOutSuspended"):
                self._act(service, target, st, best, new, end, scale_in=False)
            return
        if suspended.get("DynamicScalingInSuspended") or _deploying(service):
            return
        # Target tracking scales in only when every policy with scale-in enabled is ready.
        tracking_in = [p for p in ins if p.step_policy is None]
        step_in = [p for p in ins if p.step_policy is not None]
        chosen = None
        if ready_in and all(ready_in) and tracking_in:
            chosen = max(tracking_in, key=lambda p: p.count)
        elif step_in:
            chosen = max(step_in, key=lambda p: p.count)
        if chosen is not None:
            new = max(low, min(high, chosen.count))
            if new < desired:
                self._act(service, target, st, chosen, new, end, scale_in=True)

    def _scheduled(self, aas: Any, target: Any, service: Any, st: TargetState, k: int, end) -> None:
        """Run the target's scheduled actions due in minute k: new min/max, count kept inside."""
        timeline = self.metrics.timeline
        start = timeline.minute_start(k).replace(tzinfo=UTC)  # AWS time, aware
        stop = timeline.minute_start(k + 1).replace(tzinfo=UTC)
        actions = [
            a
            for a in aas.describe_scheduled_actions(None, NAMESPACE, target.resource_id, DIMENSION)
            if a.resource_id == target.resource_id
        ]
        for action in sorted(actions, key=lambda a: a.scheduled_action_name):
            window_start = max(start, _when(action.start_time) or start)
            window_end = min(stop, _when(action.end_time) or stop)
            try:
                due = window_start < window_end and schedule.firings(
                    action.schedule,
                    window_start,
                    window_end,
                    timezone=action.timezone,
                    created=_when(action.start_time) or _when(action.creation_time),
                )
            except ModelError as exc:  # AWS would have refused it at PutScheduledAction
                log.warning(
                    "autoscaler: scheduled action %s: %s", action.scheduled_action_name, exc
                )
                continue
            if not due:
                continue
            wanted = action.scalable_target_action or {}
            if wanted.get("MinCapacity") is not None:
                target.min_capacity = int(wanted["MinCapacity"])
            if wanted.get("MaxCapacity") is not None:
                target.max_capacity = int(wanted["MaxCapacity"])
            low, high = int(target.min_capacity or 0), int(target.max_capacity or 0)
            desired = service.desired_count
            new = max(low, min(high, desired))
            if new != desired:  # AWS: below the new minimum scales out, above the maximum in
                cause = (
                    f"scheduled action {action.scheduled_action_name} set the minimum capacity to "
                    f"{low} and the maximum capacity to {high}"
                )
                proposal = Proposal(new, "", action.scheduled_action_name, scheduled=cause)
                self._act(service, target, st, proposal, new, end, scale_in=new < desired)

    def _service(self, resource_id: str) -> Any | None:
        """Return the ACTIVE moto service of an ECS resource id (None: none)."""
        from emulator.ecs_hooks import all_ecs_backends

        _, cluster, name = resource_id.split("/")
        for account, region, backend in all_ecs_backends():
            if (account, region) == (self.plane.account_id, self.plane.region):
                service = backend.services.get(f"{cluster}:{name}")
                if service is not None and service.status == "ACTIVE":
                    return service
        return None

    def _tracking(self, policy, st, k, end, desired, running, outs, ins, ready_in) -> None:
        config = policy.target_tracking_scaling_policy_configuration or {}
        rules = tracking_rules(config)
        watched = tracked_metric(config, policy.resource_id)
        values = self._datapoints(watched, k, max(rules.high_datapoints, rules.low_datapoints))
        high_window = values[-rules.high_datapoints :]
        low_window = values[-rules.low_datapoints :]
        low_threshold = rules.target * rules.low_ratio
        high_on = all(v is not None and v > rules.target for v in high_window)
        low_on = all(v is not None and v < low_threshold for v in low_window)
        high_alarm, low_alarm = self._tracking_alarms(policy, watched, rules)
        self._alarm_state(high_alarm, high_on, high_window, ">", rules.target)
        self._alarm_state(low_alarm, low_on, low_window, "<", low_threshold)
        latest = values[-1]
        if high_on and latest is not None:
            want = target_tracking_desired(running, latest, rules.target)
            if want > desired:  # in a scale-out cooldown the capacity just added counts
                outs.append(Proposal(want, high_alarm or "AlarmHigh", policy.policy_name))
        if rules.disable_scale_in:
            return
        ready = low_on and end - st.last_scale_in >= rules.scale_in_cooldown_s
        ready_in.append(ready)
        if ready and latest is not None:
            want = target_tracking_desired(running, latest, rules.target)
            ins.append(Proposal(want, low_alarm or "AlarmLow", policy.policy_name))

    def _step(self, policy, st, k, end, desired, outs, ins) -> None:
        config = policy.step_scaling_policy_configuration or {}
        for alarm in self._alarms_of(policy.policy_arn):
            rules = step_rules(config, alarm)
            watched = Watched(
                alarm.namespace,
                alarm.metric_name,
                alarm.statistic or "Average",
                tuple((d.name, d.value) for d in alarm.dimensions),
            )
            window = self._datapoints(watched, k, int(alarm.evaluation_periods or 1))
            missing = alarm.treat_missing_data == "breaching"  # else a gap does not breach
            hits = sum(missing if v is None else rules.breaches(v) for v in window)
            on = hits >= rules.datapoints
            self._alarm_state(alarm.name, on, window, rules.comparison, rules.threshold)
            latest = next((v for v in reversed(window) if v is not None), None)
            if not on or latest is None:
                continue
            in_cooldown = end - st.step_last.get(policy.policy_arn, -math.inf) < rules.cooldown_s
            base = st.step_base.get(policy.policy_arn, desired) if in_cooldown else desired
            want = rules.count(latest, base)
            if want is None or want == desired or (in_cooldown and want < desired):
                continue  # scale-in waits out the cooldown; a scale-out must ask for more
            proposal = Proposal(
                want, alarm.name, policy.policy_name, policy.policy_arn, not in_cooldown
            )
            (outs if want > desired else ins).append(proposal)

    def _act(self, service, target, st, proposal, new, end, *, scale_in) -> None:
        """Set the service's desired count through UpdateService and record the activity."""
        from emulator.ecs_hooks import all_ecs_backends

        timeline = self.metrics.timeline
        started = timeline.now()
        backend = next(
            b
            for a, r, b in all_ecs_backends()
            if (a, r) == (self.plane.account_id, self.plane.region)
        )
        before = service.desired_count
        backend.update_service(
            {"cluster": service.cluster_name, "service": service.name, "desired_count": new}
        )
        if scale_in:
            st.last_scale_in = end
        if proposal.step_policy is not None and proposal.starts_cooldown:
            st.step_last[proposal.step_policy] = end
            st.step_base[proposal.step_policy] = before
        scaling_activities.record(
            self.plane.account_id,
            self.plane.region,
            resource_id=target.resource_id,
            new_count=new,
            cause=proposal.cause,
            started=started,
            ended=timeline.now(),
            details=self.details,
        )

    # ------------------------------------------------------------ CloudWatch

    def _cloudwatch(self) -> Any:
        from moto.cloudwatch.models import cloudwatch_backends

        return cloudwatch_backends[self.plane.account_id][self.plane.region]

    def _datapoints(self, watched: Watched, k: int, count: int) -> list[float | None]:
        """Return the last `count` one-minute datapoints up to minute k (None: missing)."""
        timeline = self.metrics.timeline
        first = k - count + 1
        found = self._cloudwatch().get_metric_statistics(
            watched.namespace,
            watched.metric,
            timeline.minute_start(first),
            timeline.minute_start(k + 1),
            MINUTE,
            [watched.statistic],
            watched.dimension_list(),
        )
        by_time = {s.timestamp: s.get_statistics_for_type(watched.statistic) for s in found}
        values: list[float | None] = []
        for minute in range(first, k + 1):
            value = by_time.get(timeline.minute_start(minute)) if minute >= 0 else None
            values.append(None if value is None else float(value))
        return values

    def _alarms_of(self, policy_arn: str) -> list[Any]:
        alarms = list(self._cloudwatch().alarms.values())
        return [a for a in alarms if any(str(x).startswith(policy_arn) for x in a.alarm_actions)]

    def _tracking_alarms(
        self, policy: Any, watched: Watched, rules: TargetTracking
    ) -> tuple[str | None, str | None]:
        """Return the policy's high and low alarm names, rewritten to what they evaluate."""
        from moto.cloudwatch.models import Dimension

        high = low = None
        for alarm in getattr(policy, "alarms", []):
            is_high = "-AlarmHigh-" in alarm.name
            alarm.namespace, alarm.metric_name = watched.namespace, watched.metric
            alarm.statistic = watched.statistic
            alarm.dimensions = [Dimension(n, v) for n, v in watched.dimensions]
            alarm.unit = "Percent" if watched.namespace == ECS_NAMESPACE else None
            alarm.period = MINUTE
            if is_high:
                alarm.threshold, alarm.evaluation_periods = rules.target, rules.high_datapoints
                alarm.datapoints_to_alarm = rules.high_datapoints
                high = alarm.name
            else:
                alarm.threshold = rules.target * rules.low_ratio
                alarm.evaluation_periods = alarm.datapoints_to_alarm = rules.low_datapoints
                low = alarm.name
        return high, low

    def _alarm_state(
        self,
        name: str | None,
        on: bool,
        window: list[float | None],
        comparison: str,
        threshold: float,
    ) -> None:
        """Write an alarm's state to CloudWatch when it changes (ALARM, OK, INSUFFICIENT_DATA)."""
        alarm = self._cloudwatch().alarms.get(name) if name else None
        if alarm is None:
            return
        present = [v for v in window if v is not None]
        state = "ALARM" if on else ("OK" if present else "INSUFFICIENT_DATA")
        if alarm.state_value == state:
            return
        if state == "INSUFFICIENT_DATA":
            reason = f"Insufficient Data: {len(window)} datapoints were unknown."
        else:
            word = WORDS.get(comparison, "less than")
            if state == "OK":
                word = "not " + word
            shown = ", ".join(f"{v:g}" for v in present[-5:])
            reason = (
                f"Threshold Crossed: {len(present)} datapoints [{shown}] were {word} "
                f"the threshold ({threshold:g})."
            )
        data = json.dumps({"version": "1.0", "queryDate": self.metrics.timeline.now().isoformat()})
        alarm.update_state(reason, data, state)


def _deploying(service: Any) -> bool:
    """Say whether an ECS deployment is in progress (Application Auto Scaling holds scale-in)."""
    deployments = service.deployments or []
    return len(deployments) > 1 or any(d.get("rolloutState") == "IN_PROGRESS" for d in deployments)
