"""Service auto scaling on the local data plane: load scales out, idle scales in (process mode).

The plane's clock is the other data-plane tests' (1 AWS second = 0.1 s); the metrics and the
autoscaler run on a more compressed clock of their own (1 AWS minute = 1.2 s), so the 3-minute
scale-out and the 15-minute scale-in take seconds. Settings are AWS's minimums.
"""

from __future__ import annotations

import secrets
import threading
import time
import urllib.request
from datetime import UTC, timedelta

import pytest

from deploy import local_plane
from deploy.aws.names import DEFAULT_NAMES
from emulator import load
from emulator.clock import Clock
from emulator.engine import PROCESS
from emulator.metrics import MetricsPublisher
from emulator.tasks import TaskRunner
from tests.emulator.conftest import CLOCK, Alb, Svc, revision

METRICS_CLOCK = Clock(scale=0.02)  # 1 AWS minute = 1.2 s
WAIT_LIMIT = 90.0  # seconds a test waits for a state before failing (no timing claim)
RPS = 80  # about 96 requests per AWS minute on the metrics' clock; 3-8 % of a task's vCPU
CPU_TARGET = 3.0  # % of the task's 1 vCPU: the load keeps each of 2 tasks above 90 % of it
SCALABLE = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount"}


class Scaled(Svc):
    """A service on a data plane with every part, its scalable target and its metrics."""

    wait_limit = WAIT_LIMIT

    @property
    def metrics(self) -> MetricsPublisher:
        return next(p for p in self.plane.parts if isinstance(p, MetricsPublisher))

    @property
    def resource_id(self) -> str:
        return f"service/{self.cluster}/{self.name}"

    def story(self, service: dict) -> str:
        """Return the service's story and its scaling activities (a failure's message)."""
        return f"{super().story(service)} {self.activities()}"

    def activities(self) -> list[dict]:
        aas = self.ctx.client("application-autoscaling")
        found = aas.describe_scaling_activities(**SCALABLE, ResourceId=self.resource_id)
        return found["ScalingActivities"]

    def target(self, low: int, high: int) -> None:
        """`aws application-autoscaling register-scalable-target`."""
        self.ctx.client("application-autoscaling").register_scalable_target(
            **SCALABLE, ResourceId=self.resource_id, MinCapacity=low, MaxCapacity=high
        )

    def policy(self, name: str, kind: str, **config: object) -> str:
        """`aws application-autoscaling put-scaling-policy`; return its ARN."""
        return self.ctx.client("application-autoscaling").put_scaling_policy(
            PolicyName=name,
            **SCALABLE,
            ResourceId=self.resource_id,
            PolicyType=kind,
            **{f"{kind}PolicyConfiguration": config},
        )["PolicyARN"]

    def statistics(self, namespace: str, metric: str, statistic: str, **dims: str) -> list:
        """`aws cloudwatch get-metric-statistics` over the metrics' whole timeline."""
        timeline = self.metrics.timeline
        return self.ctx.client("cloudwatch").get_metric_statistics(
            Namespace=namespace,
            MetricName=metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
            StartTime=timeline.start,
            EndTime=timeline.now() + timedelta(minutes=1),
            Period=60,
            Statistics=[statistic],
        )["Datapoints"]


@pytest.fixture
def scaled(alb: Alb, images: dict, run_service) -> Scaled:
    """A data plane as `local_plane.start` runs it (every part) and one service of one task."""
    revisions = {"rev1": revision(alb.ctx, images)}
    plane = local_plane.start(
        alb.ctx, DEFAULT_NAMES, mode=PROCESS, clock=CLOCK, metrics_clock=METRICS_CLOCK
    )
    svc = run_service(plane, revisions, kind=Scaled)
    svc.wait(
        lambda s: (
            s["runningCount"] == 1 and [h["State"] for h in alb.health().values()] == ["healthy"]
        ),
        "1 task running and healthy",
    )
    return svc


class Load:
    """The load generator in a thread, pointed at the ALB, until stopped."""

    def __init__(self, url: str, rps: float) -> None:
        self.stop_event = threading.Event()
        self.result: load.LoadResult | None = None
        self.thread = threading.Thread(target=self._run, args=(url, rps), daemon=True)
        self.thread.start()

    def _run(self, url: str, rps: float) -> None:
        self.result = load.generate(url, rps, WAIT_LIMIT * 2, self.stop_event)

    def stop(self) -> load.LoadResult:
        self.stop_event.set()
        self.thread.join(30)
        assert self.result is not None
        return self.result


def owner(svc: Scaled) -> str:
    """Send one request through the ALB; return the task that served it."""
    request_id = f"probe-{secrets.token_hex(4)}"
    assert svc.get(request_id=request_id)[0] == 200
    return svc.owner(request_id)


def test_load_scales_out_and_idle_scales_in_with_aws_activities_and_metrics(scaled):
    svc = scaled
    cloudwatch = svc.ctx.client("cloudwatch")
    # No scalable target yet: the plane reads no task stats and publishes no ECS metric.
    svc.metrics.wait_minutes(svc.metrics.minutes + 2, WAIT_LIMIT)
    assert cloudwatch.list_metrics(Namespace="AWS/ECS")["Metrics"] == []

    # Requests per target scale out (scale-in off: an idle ALB publishes no request count, so
    # that policy would never agree to a scale-in); CPU scales in once the tasks idle.
    svc.target(1, 2)
    label = f"{svc.alb.arn.split(':loadbalancer/')[1]}/{svc.alb.target_group_arn.split(':')[-1]}"
    requests = "llmops-requests"
    svc.policy(
        requests,
        "TargetTrackingScaling",
        TargetValue=20.0,
        PredefinedMetricSpecification={
            "PredefinedMetricType": "ALBRequestCountPerTarget",
            "ResourceLabel": label,
        },
        ScaleOutCooldown=60,
        DisableScaleIn=True,
    )
    cpu = "llmops-cpu"
    svc.policy(
        cpu,
        "TargetTrackingScaling",
        TargetValue=CPU_TARGET,
        PredefinedMetricSpecification={"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        ScaleInCooldown=60,
    )

    traffic = Load(svc.url, RPS)
    try:
        svc.wait(lambda s: s["desiredCount"] == 2, "a scale-out to 2")
        svc.wait(lambda s: s["runningCount"] == 2, "a second task running")
        first = svc.runner.task_arns(running_only=True)
        assert len(first) == 2
        while len({owner(svc) for _ in range(6)}) < 2:  # both serve once both are healthy
            time.sleep(0.2)
    finally:
        sent = traffic.stop()
        stopped = svc.metrics.timeline.now()
    assert sent.ok > 0 and sent.ok == sent.sent  # no failed request while it scaled out

    # Only the 15 low minutes have to pass now: they run fast-forwarded (no traffic to keep up).
    with svc.metrics.timeline.fast_forwarded(METRICS_CLOCK.scale / 4):
        svc.wait(lambda s: s["desiredCount"] == 1 and s["runningCount"] == 1, "a scale-in to 1")

    activities = svc.activities()
    assert [a["Description"] for a in activities] == [
        "Setting desired count to 1.",
        "Setting desired count to 2.",
    ]
    scale_in, scale_out = activities
    prefix = f"monitor alarm TargetTracking-{svc.resource_id}"
    assert scale_out["Cause"].startswith(f"{prefix}-AlarmHigh-")
    assert scale_out["Cause"].endswith(f" in state ALARM triggered policy {requests}")
    assert scale_in["Cause"].startswith(f"{prefix}-AlarmLow-")
    assert scale_in["Cause"].endswith(f" in state ALARM triggered policy {cpu}")
    # The scale-in waited for the low alarm's 15 datapoints, all after the load stopped (the
    # loaded minutes' CPU is above 90 % of the target and keeps the alarm OK).
    idle = scale_in["StartTime"].astimezone(UTC).replace(tzinfo=None) - stopped  # naive UTC
    assert idle >= timedelta(minutes=14), idle
    for activity, count in ((scale_in, 1), (scale_out, 2)):
        assert activity["StatusCode"] == "Successful"
        assert activity["StatusMessage"] == (
            f"Successfully set desired count to {count}. Change successfully fulfilled by ecs."
        )
        assert METRICS_CLOCK.label in activity["Details"]  # the autoscaler's clock, named
        assert activity["ResourceId"] == svc.resource_id
    assert "fast-forwarded" in scale_in["Details"] and "fast-forwarded" not in scale_out["Details"]

    # The metrics the policies acted on, under AWS's names and dimensions.
    lb, tg = label.split("/targetgroup/")
    per_target = svc.statistics(
        "AWS/ApplicationELB",
        "RequestCountPerTarget",
        "Sum",
        LoadBalancer=lb,
        TargetGroup=f"targetgroup/{tg}",
    )
    assert sum(p["Sum"] > 20 for p in per_target) >= 3  # the 3 datapoints of the scale-out
    total = svc.statistics("AWS/ApplicationELB", "RequestCount", "Sum", LoadBalancer=lb)
    assert sum(p["Sum"] for p in total) >= sum(p["Sum"] for p in per_target) > 0
    used = svc.statistics(
        "AWS/ECS", "CPUUtilization", "Average", ClusterName=svc.cluster, ServiceName=svc.name
    )
    assert len(used) >= 15 and {p["Unit"] for p in used} == {"Percent"}
    assert all(0 <= p["Average"] <= 100 for p in used)
    memory = svc.statistics(
        "AWS/ECS", "MemoryUtilization", "Average", ClusterName=svc.cluster, ServiceName=svc.name
    )
    assert memory and all(0 < p["Average"] < 100 for p in memory)

    # Teardown leaves nothing: no task process, no metrics thread, no listening proxy.
    pids = [
        int(c["runtimeId"].split(":")[1])
        for t in svc.ctx.client("ecs").describe_tasks(cluster=svc.cluster, tasks=first)["tasks"]
        for c in t["containers"]
    ]
    url = svc.url
    svc.plane.stop()
    assert not [t.name for t in threading.enumerate() if t.name in ("metrics", "data-plane")]
    assert not [p for p in pids if _alive(p)]
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_a_step_policy_acts_each_minute_its_alarm_stays_in_alarm_up_to_max(scaled):
    svc = scaled
    svc.target(1, 3)
    step = "llmops-step"
    arn = svc.policy(
        step,
        "StepScaling",
        AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0.0, "ScalingAdjustment": 1}],
        Cooldown=60,
        MetricAggregationType="Sum",
    )
    lb = svc.alb.arn.split(":loadbalancer/")[1]
    svc.ctx.client("cloudwatch").put_metric_alarm(
        AlarmName="llmops-busy",
        Namespace="AWS/ApplicationELB",
        MetricName="RequestCount",
        Dimensions=[{"Name": "LoadBalancer", "Value": lb}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=30.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[arn],
    )
    traffic = Load(svc.url, RPS)
    try:
        svc.wait(lambda s: s["desiredCount"] == 3, "two steps up to the maximum of 3")
        minute = svc.metrics.minutes
        svc.metrics.wait_minutes(minute + 3, WAIT_LIMIT)  # still in ALARM, already at max
        # read while the load still runs: once it stops, the next minute's sum is under 30
        alarm = svc.ctx.client("cloudwatch").describe_alarms(AlarmNames=["llmops-busy"])
    finally:
        traffic.stop()
    assert alarm["MetricAlarms"][0]["StateValue"] == "ALARM"
    assert svc.describe()["desiredCount"] == 3
    activities = svc.activities()
    assert [a["Description"] for a in activities] == [
        "Setting desired count to 3.",
        "Setting desired count to 2.",
    ]
    cause = f"monitor alarm llmops-busy in state ALARM triggered policy {step}"
    assert {a["Cause"] for a in activities} == {cause}


def test_local_plane_start_runs_the_metrics_on_their_clock_and_the_tasks_on_the_planes(alb):
    plane = local_plane.start(
        alb.ctx, DEFAULT_NAMES, mode=PROCESS, clock=CLOCK, metrics_clock=METRICS_CLOCK
    )
    try:
        runner = next(p for p in plane.parts if isinstance(p, TaskRunner))
        metrics = next(p for p in plane.parts if isinstance(p, MetricsPublisher))
        assert local_plane.mode_of(plane) == "process"
        assert plane.clock is CLOCK and runner.clock is CLOCK  # tasks, health checks, drains
        assert metrics.clock is METRICS_CLOCK and metrics.timeline.clock is METRICS_CLOCK
        assert METRICS_CLOCK.label in repr(metrics)
        assert metrics.wait_minutes(2, WAIT_LIMIT)  # minutes are published on that clock
    finally:
        plane.stop()
    default = local_plane.start(alb.ctx, DEFAULT_NAMES, mode=PROCESS, clock=CLOCK)
    try:  # without a metrics clock, the AWS minutes run on the plane's
        metrics = next(p for p in default.parts if isinstance(p, MetricsPublisher))
        assert metrics.clock is CLOCK and metrics.timeline.clock is CLOCK
    finally:
        default.stop()


@pytest.mark.parametrize(
    ("url", "rps", "seconds", "message"),
    [
        ("http://127.0.0.1:9/health", 0, 1, "rps (requests a second) must be above 0"),
        ("http://127.0.0.1:9/health", -5, 1, "rps (requests a second) must be above 0"),
        ("http://127.0.0.1:9/health", 10_000, 1, "at most 500"),
        ("http://127.0.0.1:9/health", 1, 0, "seconds must be a positive number"),
        ("127.0.0.1:9/health", 1, 1, "url must be an http:// or https:// URL"),
    ],
)
def test_the_load_generator_refuses_bad_settings_naming_them(url, rps, seconds, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load.generate(url, rps, seconds)
