"""The rollout model is checked against a real run's service events (recorded lists, no data plane)."""

from datetime import UTC, datetime, timedelta

import pytest

from deploy.models.common import ModelError
from deploy.models.rollout import Failures, RolloutConfig
from deploy.models.rollout_check import (
    Comparison,
    Milestone,
    compare,
    describe,
    model_milestones,
    real_events,
    real_milestones,
)
from deploy.models.rollout_sim import simulate_rollout

T0 = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
TG = "(target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/lab/1)"
SVC = "(service llmops-svc)"

# A healthy 100/200 roll of one task on the data plane (real clock), as describe-services
# listed it (seconds after update-service).
HEALTHY = [
    (0.10, f"{SVC} has started 1 tasks: (task new)."),
    (0.21, f"{SVC} registered 1 targets in {TG}"),
    (5.25, f"{SVC} (deployment ecs-svc/2) deployment completed."),
    (5.25, f"{SVC} has stopped 1 running tasks: (task old)."),
    (5.26, f"{SVC} has begun draining connections on 1 tasks."),
    (5.26, f"{SVC} deregistered 1 targets in {TG}"),
    (11.40, f"{SVC} has reached a steady state."),
]


def failing_events(fail_every: float = 10.1, tail: float = 12.0) -> list[tuple[float, str]]:
    """A 404 revision: three tasks fail after the grace period, breaker, rollback, steady."""
    events = []
    for i in range(3):
        start = i * fail_every
        events += [
            (start + 0.1, f"{SVC} has started 1 tasks: (task bad{i})."),
            (start + 0.2, f"{SVC} registered 1 targets in {TG}"),
            (start + fail_every, f"{SVC} (task bad{i}) (port 1) is unhealthy in {TG} due to x"),
            (start + fail_every, f"{SVC} has stopped 1 running tasks: (task bad{i})."),
            (start + fail_every, f"{SVC} deregistered 1 targets in {TG}"),
        ]
    end = 3 * fail_every
    events += [
        (end, f"{SVC} deployment ecs-svc/3 deployment failed: tasks failed to start."),
        (end, f"{SVC} rolling back to deployment ecs-svc/2."),
        (end + 0.1, f"{SVC} has started 1 tasks: (task again)."),
        (end + tail, f"{SVC} has reached a steady state."),
    ]
    return events


def config(**changes) -> RolloutConfig:
    """The data plane's AWS-minimum settings, with measured timings."""
    settings = dict(
        health_check_grace_period_s=10, circuit_breaker=True, rollback=True, stop_timeout_s=5,
        tg_interval_s=5, tg_timeout_s=4, healthy_threshold=2, unhealthy_threshold=2,
        deregistration_delay_s=5, provision_s=0.1, image_size_gb=0, app_start_s=2.5,
        shutdown_s=1.0,
    )  # fmt: skip
    return RolloutConfig(**{**settings, **changes})


def test_describe_services_events_become_seconds_after_the_update_oldest_first():
    listed = [  # newest first, as describe-services lists them; one before the update
        {"createdAt": T0 + timedelta(seconds=3), "message": "b"},
        {"createdAt": T0 + timedelta(seconds=1), "message": "a"},
        {"createdAt": T0 - timedelta(seconds=9), "message": "before"},
    ]
    assert real_events(listed, T0) == [(1.0, "a"), (3.0, "b")]
    with pytest.raises(ModelError, match="createdAt must be a datetime"):
        real_events([{"createdAt": "yesterday", "message": "a"}], T0)


def test_a_healthy_roll_matches_the_model_in_order_and_within_ten_percent():
    real = real_milestones(HEALTHY, "healthy")
    # "registered", not the old target's "deregistered 1 targets" that also contains it
    assert [m.name for m in real][:2] == ["new task started", "new target registered"]
    assert real[1].time_s == 0.21
    model = model_milestones(simulate_rollout(config()), "healthy")
    result = compare(real, model, "healthy")
    assert result.same_order
    assert result.max_relative_diff <= 0.10, result.rows()
    assert "same order" in describe(result)


def test_a_slower_real_roll_shows_the_difference_and_names_the_worst_milestone():
    late = [(s + 5 if s > 1 else s, m) for s, m in HEALTHY]  # healthy one interval later
    result = compare(
        real_milestones(late, "healthy"),
        model_milestones(simulate_rollout(config()), "healthy"),
        "healthy",
    )
    assert result.same_order
    assert result.max_relative_diff > 0.4
    assert result.worst in ("old task stopping", "old target draining")  # 5 s off at ~10 s


def test_a_failing_deploy_matches_the_model_up_to_the_rollback_and_the_order_holds():
    real = real_milestones(failing_events(), "failing")
    assert [m.name for m in real][:2] == ["failed task 1 started", "failed task 1 stopped"]
    model = model_milestones(
        simulate_rollout(config(), Failures(fails_alb_health_check=True)), "failing"
    )
    result = compare(real, model, "failing")
    assert result.same_order
    rows = {r["milestone"]: r for r in result.rows()}
    assert rows["circuit breaker failed the deployment"]["relative_diff"] <= 0.10
    # Both start a fresh task of the old revision on rollback and drain the previous one once
    # it is healthy; the data plane's scheduler polls, so its steady state trails a little.
    assert result.worst == "steady state"
    assert rows["steady state"]["real_s"] - rows["steady state"]["model_s"] > 0
    assert rows["steady state"]["relative_diff"] <= 0.10


def test_events_in_another_order_are_reported_as_a_different_order():
    real = [Milestone("a", 1.0), Milestone("b", 2.0)]
    model = [Milestone("b", 1.0), Milestone("a", 2.0)]
    result = compare(real, model)
    assert not result.same_order
    assert (result.max_relative_diff, result.worst) == (1.0, "a")  # a: 1 s real, 2 s model
    # Near the update call a ratio says nothing: below the floor only the order counts.
    late = compare([Milestone("a", 2.0)], [Milestone("a", 0.0)])
    assert late.max_relative_diff == 1.0
    assert compare([Milestone("a", 2.0)], [Milestone("a", 0.0)], floor_s=5).max_relative_diff == 0
    assert "ORDER DIFFERS" in describe(result)
    # A milestone the model lacks is shown as "-", not a crash.
    assert "a 1/- s" in describe(Comparison("healthy", real, [], False, 1.0, "x"))


def test_a_task_still_starting_when_the_breaker_fires_is_not_a_failed_one():
    events = failing_events()
    breaker = next(t for t, m in events if "deployment failed" in m)
    late = (breaker, f"{SVC} has started 1 tasks: (task bad3).")  # same pass as the breaker
    real = real_milestones(sorted([*events, late], key=lambda e: e[0]), "failing")
    assert real == real_milestones(events, "failing")
    assert [m.name for m in real].count("failed task 3 started") == 1
    assert "failed task 4 started" not in [m.name for m in real]


def test_missing_events_and_unknown_kinds_are_named():
    with pytest.raises(ModelError, match="no steady state event"):
        real_milestones(HEALTHY[:-1], "healthy")
    with pytest.raises(ModelError, match="kind must be one of"):
        real_milestones(HEALTHY, "sideways")
    with pytest.raises(ModelError, match="different milestones"):
        compare([Milestone("a", 1.0)], [Milestone("b", 1.0)])
    broken = [e for e in failing_events() if "is unhealthy" not in e[1]]
    with pytest.raises(ModelError, match="started 3 and failed 0 tasks"):
        real_milestones(broken, "failing")
    with pytest.raises(ModelError, match="desired count 1"):
        model_milestones(simulate_rollout(config(desired_count=2)), "healthy")
