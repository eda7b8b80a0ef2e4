"""ECS's and the ALB's CloudWatch metrics, published by the local data plane once per AWS minute.

What AWS publishes, and what this part publishes into moto's CloudWatch the same way:
- ECS service utilization, namespace AWS/ECS, dimensions ClusterName + ServiceName, unit
  Percent: CPUUtilization = CPU used by the service's tasks / CPU their task definitions
  reserve (1024 units = 1 vCPU); MemoryUtilization likewise with MiB. One datapoint a minute
  whose SampleCount/Sum/Minimum/Maximum are over the tasks, so Average is the service's figure.
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cloudwatch-metrics.html
  (Fargate caps a task at its reservation, so CPU is capped at 100 %.)
- ALB, namespace AWS/ApplicationELB: RequestCount (dimension LoadBalancer, app/<name>/<id>),
  the requests for which the load balancer chose a target; RequestCountPerTarget (dimensions
  LoadBalancer + TargetGroup, targetgroup/<name>/<id>, statistic Sum), the target group's
  requests divided by its healthy targets. Only minutes with requests are published, as ELB
  reports nothing when no request flows.
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
Each metric has one dimension set: moto matches dimensions as a subset, so publishing the same
count under two sets would count it twice in a query that names fewer dimensions.

One publisher per task: a plane publishes a service's utilization only from the tasks its own
runner runs (`MetricsPublisher(runner)`; without a runner, no ECS metrics). Two planes started
in one process share moto's models (a plane of a kernel's emulator started while an earlier
one still runs, two in a test; a plane in another process has its own moto and its own
metrics), so each would otherwise read and publish every task of every scalable service, and
CloudWatch would count each task twice a minute. Only one runner adopts a task (the first
running one, emulator.ecs_hooks; a watcher adopts only what no runner has), so each task's
figures reach CloudWatch once a minute; a service whose tasks two runners share gets one sample
per task. The ALB's counts are per plane already: a request is counted by the proxy that
forwarded it.

Cost: ECS utilization is read (psutil, or one `stats` call a minute) only for services that are
an Application Auto Scaling scalable target, the only ones anything here acts on; a plane with
no scalable target reads no stats. Counting the ALB's requests is one dict update a request.

Usage comes from emulator.usage (psutil in process mode, `<cli> stats` on podman or docker);
request counts from the ALB proxy (emulator.alb calls `on_request` for each request it forwards).

Clock: a minute is 60 AWS seconds on this part's clock (the plane's unless one is given). On a
compressed clock the datapoints' timestamps are AWS time, running ahead of the wall clock from
the moment the part started (`Timeline`); the label says so. A plane started later in the same
process publishes into the same CloudWatch (moto's models are per process), where an earlier
compressed plane may have filled minutes still ahead of the wall clock, and CloudWatch would
add the two planes' datapoints up. So each minute published is recorded on the account and
region's CloudWatch backend (`published_until`; a moto reset forgets it with the datapoints),
and a new timeline starts at the wall-clock minute or after the last minute published, whichever
is later.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from deploy.resources.autoscaling import DIMENSION, NAMESPACE
from emulator import usage
from emulator.clock import Clock
from emulator.ecs_hooks import all_ecs_backends

if TYPE_CHECKING:
    from emulator.tasks import TaskRunner

log = logging.getLogger(__name__)

MINUTE = 60  # AWS seconds: the period of ECS's and ELB's metrics
ECS_NAMESPACE, ELB_NAMESPACE = "AWS/ECS", "AWS/ApplicationELB"
CPU_UNITS_PER_VCPU = 1024
PACE_CHECK_S = 0.25  # real seconds: how soon a waiting minute sees a fast-forward
_LEDGER = threading.Lock()  # guards each CloudWatch backend's `published_until`


def published_until(cloudwatch: Any) -> datetime | None:
    """Return the end of the last minute a data plane published into this CloudWatch backend."""
    return getattr(cloudwatch, "data_plane_published_until", None)


def record_published(cloudwatch: Any, end: datetime) -> None:
    """Record that a data plane published into this CloudWatch backend up to `end` (naive UTC)."""
    with _LEDGER:
        before = published_until(cloudwatch)
        if before is None or end > before:
            # kept on moto's backend object, so a reset (which rebuilds it) forgets it
            cloudwatch.data_plane_published_until = end


class Timeline:
    """AWS time on a clock: minute k covers [start + k min, start + (k + 1) min).

    `fast_forward(scale)` runs the minutes from now on at another scale (a stretch where only
    minutes have to pass, such as the 15 low datapoints before a scale-in); the label says so.
    """

    def __init__(self, clock: Clock, after: datetime | None = None) -> None:
        self.clock = clock
        # naive UTC, as moto stores metric timestamps
        wall = datetime.now(UTC).replace(second=0, microsecond=0, tzinfo=None)
        if after is not None and after.tzinfo is not None:
            raise ValueError(f"the timeline's `after` must be naive UTC, not {after.isoformat()}")
        # An earlier plane's minutes may lie ahead of the wall clock: start after them.
        self.start = max(wall, after) if after is not None else wall
        self.after_earlier = self.start > wall
        # (AWS seconds since start, clock reading, real seconds per AWS second) at the last
        # change of pace: one tuple, swapped whole, so the publishing thread never sees half.
        self._anchor = (0.0, clock.now(), clock.scale)

    @property
    def scale(self) -> float:
        """Return the real seconds one AWS second takes now."""
        return self._anchor[2]

    @property
    def label(self) -> str:
        """Name the clock the timestamps run on."""
        if not self.clock.compressed and not self.after_earlier:
            label = "real time"
        elif not self.clock.compressed:
            label = "real time; timestamps are AWS time, after an earlier plane's minutes"
        else:
            label = f"{self.clock.label}; timestamps are AWS time, ahead of the wall clock"
        if self.scale != self.clock.scale:
            label += f"; fast-forwarded to 1 AWS second = {self.scale:g} s"
        return label

    def minute_start(self, k: int) -> datetime:
        """Return the timestamp of minute k."""
        return self.start + timedelta(seconds=MINUTE * k)

    def minute_ends_at(self, k: int) -> float:
        """Return the clock reading (real seconds) at which minute k is over."""
        aws0, real0, scale = self._anchor
        return real0 + (MINUTE * (k + 1) - aws0) * scale

    def aws_seconds(self) -> float:
        """Return the AWS seconds since the timeline's start."""
        aws0, real0, scale = self._anchor
        return aws0 + (self.clock.now() - real0) / scale

    def now(self) -> datetime:
        """Return the AWS time now (naive UTC)."""
        return self.start + timedelta(seconds=self.aws_seconds())

    def fast_forward(self, scale: float) -> None:
        """From now on, run AWS time at `scale` real seconds per AWS second (the clock's: back)."""
        if not scale > 0:
            raise ValueError(f"a timeline's scale must be a positive number, not {scale!r}")
        self._anchor = (self.aws_seconds(), self.clock.now(), scale)

    @contextlib.contextmanager
    def fast_forwarded(self, scale: float) -> Iterator[None]:
        """Run the minutes at `scale` inside the block, at the clock's own pace after it."""
        self.fast_forward(scale)
        try:
            yield
        finally:
            self.fast_forward(self.clock.scale)


class RequestCounter:
    """Count the requests the ALB proxy forwards, per (load balancer ARN, target group ARN)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def count(self, load_balancer_arn: str, target_group_arn: str) -> None:
        """Count one request the load balancer sent to a target of the group."""
        key = (load_balancer_arn, target_group_arn)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def take(self) -> dict[tuple[str, str], int]:
        """Return the counts since the last take, and start again from zero."""
        with self._lock:
            counts, self._counts = self._counts, {}
        return counts


def arn_dimension(arn: str) -> str:
    """Return the CloudWatch dimension value of an ALB or target group ARN (app/..., targetgroup/...)."""
    return arn.split(":loadbalancer/", 1)[-1] if ":loadbalancer/" in arn else arn.rsplit(":", 1)[-1]


def utilization(used: float, reserved: float) -> float:
    """Return `used` as a percent of `reserved` (0 when nothing is reserved)."""
    return 100.0 * used / reserved if reserved > 0 else 0.0


def _statistics(values: list[float]) -> dict[str, float]:
    return {
        "SampleCount": float(len(values)),
        "Sum": sum(values),
        "Minimum": min(values),
        "Maximum": max(values),
    }


class MetricsPublisher:
    """A data-plane part: every AWS minute, publish the services' and load balancers' metrics."""

    def __init__(self, runner: TaskRunner | None = None, *, clock: Clock | None = None) -> None:
        self.runner = runner  # whose tasks' utilization it publishes (None: no ECS metrics)
        self.clock = clock
        self.counter = RequestCounter()
        self.timeline: Timeline | None = None
        self.plane: Any = None
        self.minutes = 0  # minutes published so far
        self._listeners: list[Callable[[int], None]] = []
        self._published = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._cpu: dict[str, tuple[float, float]] = {}  # runtimeId -> (core-seconds, clock)

    def __repr__(self) -> str:
        clock = self.timeline.label if self.timeline else "not started"
        return f"MetricsPublisher(local data plane, {clock}, {self.minutes} minute(s) published)"

    def add_listener(self, listener: Callable[[int], None]) -> None:
        """Call `listener(k)` after minute k is published (the autoscaler evaluates then)."""
        self._listeners.append(listener)

    def start(self, plane: Any) -> MetricsPublisher:
        """Count the ALB's requests and publish once per AWS minute."""
        self.plane = plane
        self.clock = self.clock or plane.clock
        self.timeline = Timeline(self.clock, after=published_until(self._cloudwatch()))
        plane.load_balancers.on_request = self.counter.count
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop counting and publishing."""
        if self.plane is not None and self.plane.load_balancers.on_request == self.counter.count:
            self.plane.load_balancers.on_request = None
        self._stopping.set()
        if self._thread is not None:
            # A minute in progress ends within one `stats` call (usage.STATS_TIMEOUT) or so.
            self._thread.join(3 * usage.STATS_TIMEOUT)
            if self._thread.is_alive():
                log.warning("metrics: the publishing thread did not stop")

    def wait_minutes(self, count: int, timeout: float) -> bool:
        """Wait until `count` minutes have been published; say whether they were."""
        with self._published:
            return self._published.wait_for(lambda: self.minutes >= count, timeout)

    def _loop(self) -> None:
        assert self.timeline is not None
        k = 0
        while not self._wait_minute_end(k):
            try:
                self.publish(k)
            except Exception:  # moto reset under it: the next minute starts afresh
                log.exception("metrics: minute %d not published", k)
            with self._published:
                self.minutes = k + 1
                self._published.notify_all()
            for listener in list(self._listeners):
                try:
                    listener(k)
                except Exception:
                    log.exception("metrics: a listener failed on minute %d", k)
            k += 1

    def _wait_minute_end(self, k: int) -> bool:
        """Wait until minute k is over, in short steps (the pace may change); True: stopping."""
        while (left := self.timeline.minute_ends_at(k) - self.clock.now()) > 0:
            if self._stopping.wait(min(left, PACE_CHECK_S)):
                return True
        return self._stopping.is_set()

    def _cloudwatch(self) -> Any:
        from moto.cloudwatch.models import cloudwatch_backends

        return cloudwatch_backends[self.plane.account_id][self.plane.region]

    def publish(self, k: int) -> None:
        """Publish minute k: ECS utilization per service, ALB request counts."""
        cloudwatch = self._cloudwatch()
        stamp = self.timeline.minute_start(k)
        # Claimed before it is filled: a plane started meanwhile begins after this minute.
        record_published(cloudwatch, self.timeline.minute_start(k + 1))
        ecs = self._ecs_data(stamp)
        if ecs:
            cloudwatch.put_metric_data(ECS_NAMESPACE, ecs)
        elb = self._elb_data(stamp)
        if elb:
            cloudwatch.put_metric_data(ELB_NAMESPACE, elb)

    # ------------------------------------------------------------ ECS

    def _scalable_services(self) -> set[str]:
        """Return the ECS services (cluster:service) registered as scalable targets."""
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        aas = applicationautoscaling_backends[self.plane.account_id][self.plane.region]
        targets = aas.describe_scalable_targets(NAMESPACE, None, DIMENSION)
        return {":".join(t.resource_id.split("/")[1:]) for t in targets}

    def _ecs_data(self, stamp: datetime) -> list[dict]:
        if self.runner is None:
            return []
        scalable = self._scalable_services()
        ours = set(self.runner.task_arns())  # another plane's runner publishes its own tasks
        services = []  # (backend, service, its RUNNING tasks)
        for account, region, backend in all_ecs_backends():
            if (account, region) != (self.plane.account_id, self.plane.region):
                continue
            for service in list(backend.services.values()):
                key = f"{service.cluster_name}:{service.name}"
                if service.status != "ACTIVE" or key not in scalable:
                    continue
                group = f"service:{service.name}"
                tasks = [
                    t
                    for t in list(backend.tasks.get(service.cluster_name, {}).values())
                    if t.group == group and t.status == "RUNNING" and t.task_arn in ours
                ]
                services.append((backend, service, tasks))
        # One read for every container (one `stats` call per engine), none when nothing scales.
        ids = [
            c.runtime_id
            for _, _, tasks in services
            for t in tasks
            for c in t.containers
            if getattr(c, "runtime_id", None)
        ]
        read = usage.read(ids) if ids else {}
        for gone in set(self._cpu) - set(read):  # a stopped container's baseline
            del self._cpu[gone]
        data = []
        for backend, service, tasks in services:
            cpu, memory = self._task_utilizations(backend, tasks, read)
            dims = [
                {"Name": "ClusterName", "Value": service.cluster_name},
                {"Name": "ServiceName", "Value": service.name},
            ]
            for name, values in (("CPUUtilization", cpu), ("MemoryUtilization", memory)):
                if values:
                    data.append(
                        {
                            "MetricName": name,
                            "Dimensions": dims,
                            "Timestamp": stamp,
                            "StatisticValues": _statistics(values),
                            "Unit": "Percent",
                        }
                    )
        return data

    def _task_utilizations(
        self, backend: Any, tasks: list[Any], read: dict[str, usage.Usage]
    ) -> tuple[list[float], list[float]]:
        """Return each task's CPU and memory utilization (percent of its reservation)."""
        now = self.clock.now()
        cpu, memory = [], []
        for task in tasks:
            units, mib = _reservation(backend, task)
            cores, used, seen = 0.0, 0.0, False
            for container in task.containers:
                got = read.get(getattr(container, "runtime_id", None) or "")
                if got is None:
                    continue
                used += got.memory_bytes
                if got.cores is not None:
                    cores += got.cores
                    seen = True
                elif got.cpu_seconds is not None:
                    before = self._cpu.get(container.runtime_id)
                    self._cpu[container.runtime_id] = (got.cpu_seconds, now)
                    if before is not None and now > before[1]:
                        cores += max(0.0, got.cpu_seconds - before[0]) / (now - before[1])
                        seen = True
            if seen:  # a task's first minute only sets the baseline, as ECS's first report
                cpu.append(min(100.0, utilization(cores * CPU_UNITS_PER_VCPU, units)))
                memory.append(utilization(used, mib * 2**20))
        return cpu, memory

    # ------------------------------------------------------------ ALB

    def _elb_data(self, stamp: datetime) -> list[dict]:
        counts = self.counter.take()
        if not counts:
            return []
        data, per_lb = [], {}
        for (lb_arn, tg_arn), n in counts.items():
            per_lb[lb_arn] = per_lb.get(lb_arn, 0) + n
            targets = self._healthy_targets(tg_arn)
            data.append(
                {
                    "MetricName": "RequestCountPerTarget",
                    "Dimensions": [
                        {"Name": "LoadBalancer", "Value": arn_dimension(lb_arn)},
                        {"Name": "TargetGroup", "Value": arn_dimension(tg_arn)},
                    ],
                    "Timestamp": stamp,
                    "Value": n / targets,
                    "Unit": "Count",
                }
            )
        for lb_arn, n in per_lb.items():
            data.append(
                {
                    "MetricName": "RequestCount",
                    "Dimensions": [{"Name": "LoadBalancer", "Value": arn_dimension(lb_arn)}],
                    "Timestamp": stamp,
                    "Value": float(n),
                    "Unit": "Count",
                }
            )
        return data

    def _healthy_targets(self, tg_arn: str) -> int:
        """Return the group's healthy targets (its registered ones when none is healthy; min 1)."""
        rows = self.plane.table.rows(tg_arn)
        healthy = sum(1 for h in rows.values() if h.state == "healthy")
        return healthy or max(1, len(rows))


def _reservation(backend: Any, task: Any) -> tuple[float, float]:
    """Return the CPU units and MiB the task's definition reserves (task level, else containers)."""
    try:
        definition = backend.describe_task_definition(task.task_definition_arn)
    except Exception:  # deregistered and deleted: nothing to divide by
        return 0.0, 0.0
    containers = definition.container_definitions or []
    units = float(definition.cpu or sum(float(c.get("cpu") or 0) for c in containers))
    mib = float(
        definition.memory
        or sum(float(c.get("memory") or c.get("memoryReservation") or 0) for c in containers)
    )
    return units, mib
