"""The metrics' AWS minutes: a plane started after another never refills the other's minutes."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from moto.cloudwatch.models import CloudWatchBackend

from emulator import load
from emulator.clock import Clock
from emulator.dataplane import DataPlane
from emulator.metrics import MetricsPublisher, Timeline, published_until, record_published
from emulator.moto_server import ACCOUNT_ID
from tests.emulator.conftest import CLOCK, Alb, wait_for

METRICS_CLOCK = Clock(scale=0.02)  # 1 AWS minute = 1.2 s: far ahead of the wall clock
MINUTES = 3  # AWS minutes each plane publishes
LIMIT = 60.0  # seconds a step may take before the test fails (no timing claim)


def run_plane(alb: Alb) -> MetricsPublisher:
    """Run a plane (metrics only) with requests flowing through the ALB for MINUTES minutes."""
    metrics = MetricsPublisher(clock=METRICS_CLOCK)
    plane = DataPlane.start(alb.ctx, clock=CLOCK, parts=[metrics])
    stop = threading.Event()
    try:
        url = wait_for(lambda: plane.urls().get(alb.name, {}).get(80), "the ALB's local URL")
        sender = threading.Thread(target=load.generate, args=(url, 20, LIMIT, stop), daemon=True)
        sender.start()
        assert metrics.wait_minutes(MINUTES, LIMIT), "the metrics published no minute"
    finally:
        stop.set()
        plane.stop()
    sender.join(LIMIT)
    return metrics


def test_a_second_plane_publishes_after_the_first_planes_minutes_never_into_them(alb, make_target):
    alb.register(make_target("only"))
    first = run_plane(alb)
    second = run_plane(alb)
    # Both ran far ahead of the wall clock: without the record, both would start at its minute.
    assert second.timeline.start >= first.timeline.minute_start(MINUTES)
    assert second.timeline.start < datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)

    found = alb.ctx.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/ApplicationELB",
        MetricName="RequestCount",
        Dimensions=[{"Name": "LoadBalancer", "Value": alb.arn.split(":loadbalancer/")[1]}],
        StartTime=first.timeline.start,
        EndTime=second.timeline.now() + timedelta(minutes=1),
        Period=60,
        Statistics=["SampleCount", "Sum"],
    )["Datapoints"]
    # No minute holds two planes' datapoints (CloudWatch would add their request counts up)...
    assert [p["SampleCount"] for p in found] == [1.0] * len(found), found
    assert all(p["Sum"] > 0 for p in found)
    # ...and each plane's busy minutes hold its own.
    stamps = sorted(p["Timestamp"].astimezone(UTC).replace(tzinfo=None) for p in found)
    first_minutes = [s for s in stamps if s < second.timeline.start]
    second_minutes = [s for s in stamps if s >= second.timeline.start]
    assert len(first_minutes) >= MINUTES - 1 and len(second_minutes) >= MINUTES - 1, stamps


def test_a_timeline_starts_at_the_wall_minute_or_after_the_last_minute_published():
    wall = datetime.now(UTC).replace(second=0, microsecond=0, tzinfo=None)
    fresh = Timeline(Clock())
    assert fresh.start in (wall, wall + timedelta(minutes=1))  # unless a minute just began
    assert fresh.label == "real time"
    past = Timeline(Clock(), after=wall - timedelta(minutes=30))
    assert past.start >= wall and past.label == "real time"
    later = wall + timedelta(minutes=45)
    ahead = Timeline(Clock(), after=later)
    assert ahead.start == later and ahead.minute_start(1) == later + timedelta(minutes=1)
    assert "after an earlier plane's minutes" in ahead.label  # never passed off as the wall
    compressed = Timeline(METRICS_CLOCK, after=later)
    assert compressed.start == later and "compressed clock" in compressed.label


def test_the_record_only_moves_forward_and_a_moto_reset_forgets_it():
    cloudwatch = CloudWatchBackend("us-east-1", ACCOUNT_ID)  # a backend of its own
    assert published_until(cloudwatch) is None
    wall = datetime.now(UTC).replace(second=0, microsecond=0, tzinfo=None)
    record_published(cloudwatch, wall + timedelta(minutes=10))
    record_published(cloudwatch, wall + timedelta(minutes=4))  # a slower plane's older minute
    assert published_until(cloudwatch) == wall + timedelta(minutes=10)
    cloudwatch.reset()  # what `moto_backend.reset()` does to every backend: the data goes too
    assert published_until(cloudwatch) is None


def test_an_aware_start_is_refused_naming_the_problem():
    with pytest.raises(ValueError, match="`after` must be naive UTC"):
        Timeline(Clock(), after=datetime.now(UTC))


@dataclass(frozen=True)
class SetClock(Clock):
    """A clock whose reading the test sets (real seconds)."""

    reading: list = field(default_factory=lambda: [100.0])

    def now(self) -> float:
        return self.reading[0]


def test_a_fast_forward_runs_the_minutes_after_it_at_the_new_pace_and_says_so():
    clock = SetClock(scale=0.02)  # 1 AWS minute = 1.2 s
    timeline = Timeline(clock)
    assert timeline.minute_ends_at(0) == pytest.approx(101.2)
    clock.reading[0] = 101.2
    assert timeline.now() == timeline.minute_start(1)
    timeline.fast_forward(0.01)  # from here 1 AWS minute = 0.6 s
    assert timeline.minute_ends_at(1) == pytest.approx(101.8)
    assert timeline.minute_ends_at(10) == pytest.approx(101.2 + 10 * 0.6)
    assert "fast-forwarded to 1 AWS second = 0.01 s" in timeline.label
    clock.reading[0] = 101.5
    assert timeline.now() == timeline.minute_start(1) + timedelta(seconds=30)
    timeline.fast_forward(clock.scale)  # back to the clock's own pace
    assert timeline.minute_ends_at(2) == pytest.approx(101.5 + 90 * 0.02)
    assert "fast-forwarded" not in timeline.label
    with pytest.raises(ValueError, match="scale must be a positive number"):
        timeline.fast_forward(0)
    with pytest.raises(RuntimeError), timeline.fast_forwarded(0.01):  # the block fails...
        assert timeline.scale == 0.01
        raise RuntimeError
    assert timeline.scale == clock.scale  # ...and the clock's own pace is back all the same


def test_a_minute_already_waited_on_ends_at_the_new_pace():
    metrics = MetricsPublisher(clock=Clock())  # real time: minute 0 ends in a minute
    metrics.timeline = Timeline(metrics.clock)
    waiter = threading.Thread(target=metrics._wait_minute_end, args=(0,), daemon=True)
    waiter.start()
    metrics.timeline.fast_forward(0.0001)  # the minute is over at once
    waiter.join(10)  # far less than the minute it waited for at first
    assert not waiter.is_alive()
