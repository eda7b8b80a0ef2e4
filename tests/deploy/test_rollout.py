"""The rolling-deployment model follows AWS's documented rules."""

import matplotlib.pyplot as plt
import pytest
import yaml

from deploy import present, release, stack
from deploy.aws.names import DEFAULT_NAMES as N
from deploy.guide import GuideDataError, load
from deploy.guide import path as guide_path
from deploy.guide.schema import RolloutGuide
from deploy.models.common import ModelError
from deploy.models.rollout import (
    ContainerHealthCheck,
    Failures,
    RolloutConfig,
    circuit_breaker_threshold,
    time_to_healthy,
    time_to_unhealthy,
)
from deploy.models.rollout_sim import simulate_rollout
from deploy.models.scenarios import guide_q5_comparison


def first(result, event, actor=None):
    """Return the time of the first matching event."""
    found = result.find(event, actor)
    assert found, f"no event {event!r} ({actor})"
    return found[0].time_s


def detail_times(result, event, task_id):
    """Return the times of matching events whose detail names `task_id`."""
    return [e.time_s for e in result.find(event) if e.detail.startswith(task_id)]


@pytest.mark.parametrize(
    ("desired", "threshold"), [(1, 3), (6, 3), (7, 4), (10, 5), (400, 200), (1000, 200)]
)
def test_circuit_breaker_threshold_is_half_desired_clamped_to_3_and_200(desired, threshold):
    assert circuit_breaker_threshold(desired) == threshold


def test_unbounded_threshold_has_no_floor():
    assert circuit_breaker_threshold(1, bounded=False) == 1
    assert circuit_breaker_threshold(10, percent=20) == 3


def test_health_thresholds_count_checks_not_checks_plus_one():
    assert time_to_unhealthy(30, 2) == 60  # the 2nd failed check, not "check #3"
    assert time_to_healthy(30, 2) == 60
    assert time_to_healthy(30, 5, newly_registered=True) == 30  # a new target needs one pass


def test_rolling_100_200_with_desired_1_starts_new_before_stopping_old():
    result = simulate_rollout(RolloutConfig.guide())
    assert result.outcome == "COMPLETED" and result.failed_tasks == 0
    new_healthy = first(result, "target healthy")
    old_stop = detail_times(result, "stopping task", "old-1")[0]
    assert first(result, "RUNNING", "new-1") < new_healthy <= old_stop
    assert result.time_to_complete_s > old_stop


@pytest.mark.parametrize("delay", [300, 30])
def test_draining_lasts_the_deregistration_delay_then_sigterm(delay):
    result = simulate_rollout(RolloutConfig.guide(deregistration_delay_s=delay))
    drained = detail_times(result, "target draining", "old-1")[0]
    sigterm = first(result, "SIGTERM", "old-1")
    assert sigterm - drained == delay


def test_sigkill_after_stop_timeout_when_the_app_ignores_sigterm():
    result = simulate_rollout(
        RolloutConfig.guide(stop_timeout_s=45), Failures(ignores_sigterm=True)
    )
    stopped = result.find("STOPPED", "old-1")[0]
    assert stopped.detail == "SIGKILL after stopTimeout"
    assert stopped.time_s - first(result, "SIGTERM", "old-1") == 45


def test_crashing_image_with_desired_1_rolls_back_after_3_failed_tasks():
    result = simulate_rollout(RolloutConfig.guide(), Failures(crash_at_start=True))
    assert result.outcome == "ROLLED_BACK"
    assert result.failed_tasks == 3 == result.threshold
    # The rollback is a new deployment of the old revision: a fresh task (old-2) starts, and
    # the old task keeps serving until that one is healthy, so a healthy target never lacks.
    rollback_healthy = detail_times(result, "target healthy", "old-2")[0]
    assert first(result, "rollback started") < first(result, "RUNNING", "old-2")
    assert detail_times(result, "stopping task", "old-1") == [rollback_healthy]
    assert result.time_to_complete_s > 3 * RolloutConfig.guide().pull_s  # minutes, not "02:00"


def test_failing_alb_check_is_unhealthy_at_the_2nd_failure():
    config = RolloutConfig.guide(health_check_grace_period_s=0)
    result = simulate_rollout(config, Failures(fails_alb_health_check=True))
    registered = detail_times(result, "target registered", "new-1")[0]
    unhealthy = detail_times(result, "target unhealthy", "new-1")[0]
    assert unhealthy - registered == time_to_unhealthy(30, 2)
    assert result.outcome == "ROLLED_BACK" and result.failed_tasks == 3


def test_grace_period_ignores_unhealthy_results_but_does_not_delay_checks():
    config = RolloutConfig.guide(health_check_grace_period_s=150)
    result = simulate_rollout(config, Failures(fails_alb_health_check=True))
    running = first(result, "RUNNING", "new-1")
    assert detail_times(result, "health check #1 failed", "new-1")[0] == running + 30
    assert detail_times(result, "unhealthy result ignored", "new-1")
    assert detail_times(result, "stopping task", "new-1")[0] == running + 150


def test_slow_start_fails_without_grace_and_passes_with_enough_grace():
    slow = Failures(app_start_s=240)
    assert simulate_rollout(RolloutConfig.guide(health_check_grace_period_s=0), slow).outcome == (
        "ROLLED_BACK"
    )
    assert simulate_rollout(RolloutConfig.guide(health_check_grace_period_s=300), slow).outcome == (
        "COMPLETED"
    )


def test_container_health_check_start_period_and_retries():
    check = ContainerHealthCheck(interval_s=10, retries=3, start_period_s=30)
    config = RolloutConfig.guide(container_health_check=check, health_check_grace_period_s=0)
    result = simulate_rollout(config, Failures(fails_container_health_check=True))
    running = first(result, "RUNNING", "new-1")
    assert result.find("failed (ignored)", "container")  # inside startPeriod
    # checks at +10, +20 ignored; +30, +40, +50 count: UNHEALTHY on the 3rd counted failure
    assert detail_times(result, "health check UNHEALTHY", "new-1")[0] == running + 50
    assert result.outcome == "ROLLED_BACK"


def test_without_circuit_breaker_a_bad_deployment_never_finishes():
    config = RolloutConfig(desired_count=1, max_time_s=1800)
    result = simulate_rollout(config, Failures(fails_alb_health_check=True))
    assert result.outcome == "IN_PROGRESS" and result.failed_tasks > 3


def test_breaker_without_rollback_marks_the_deployment_failed():
    config = RolloutConfig(circuit_breaker=True, rollback=False)
    result = simulate_rollout(config, Failures(crash_at_start=True))
    assert result.outcome == "FAILED" and result.failed_tasks == 3


def test_min_50_max_100_stops_old_tasks_before_starting_new_ones():
    config = RolloutConfig(desired_count=4, minimum_healthy_percent=50, maximum_percent=100)
    result = simulate_rollout(config)
    assert result.outcome == "COMPLETED"
    first_stop = detail_times(result, "stopping task", "old-")[0]
    assert first_stop <= first(result, "PROVISIONING", "new-1")
    assert len(detail_times(result, "stopping task", "old-")) == 4


def test_desired_10_failure_threshold_is_5():
    result = simulate_rollout(RolloutConfig.guide(desired_count=10), Failures(crash_at_start=True))
    assert result.threshold == 5 and result.failed_tasks == 5
    assert result.outcome == "ROLLED_BACK"


def test_result_table_plot_and_determinism():
    one = simulate_rollout(RolloutConfig.guide(), Failures(crash_at_start=True))
    two = simulate_rollout(RolloutConfig.guide(), Failures(crash_at_start=True))
    assert one.events == two.events
    rows = one.table()
    assert rows[0]["time"] == "00:00" and {"time_s", "actor", "event", "detail"} <= rows[0].keys()
    assert one.summary()["outcome"] == "ROLLED_BACK"
    fig = present.rollout_plot(one)
    assert len(fig.axes[0].patches) >= len(one.tasks)
    assert present.rollout_table(one).row_count == len(rows)
    plt.close(fig)


def test_rollout_plot_draws_into_a_given_axis():
    fig, (top, bottom) = plt.subplots(2, 1)
    healthy = simulate_rollout(RolloutConfig.guide())
    failing = simulate_rollout(RolloutConfig.guide(), Failures(crash_at_start=True))
    assert present.rollout_plot(healthy, ax=top) is fig
    present.rollout_plot(failing, ax=bottom)
    assert len(bottom.patches) > len(top.patches)  # the failed launches add bars
    plt.close(fig)


def test_from_aws_reads_describe_shapes():
    service = {
        "services": [
            {
                "desiredCount": 2,
                "deploymentConfiguration": {
                    "minimumHealthyPercent": 50,
                    "maximumPercent": 150,
                    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                },
                "healthCheckGracePeriodSeconds": 60,
                "loadBalancers": [{"targetGroupArn": "arn:tg", "containerPort": 8080}],
            }
        ]
    }
    task_def = {
        "taskDefinition": {
            "containerDefinitions": [
                {
                    "name": "llmops-container",
                    "essential": True,
                    "stopTimeout": 60,
                    "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 15, "retries": 4},
                }
            ]
        }
    }
    target_group = {
        "TargetGroups": [
            {
                "HealthCheckIntervalSeconds": 10,
                "HealthCheckTimeoutSeconds": 5,
                "HealthyThresholdCount": 3,
                "UnhealthyThresholdCount": 4,
            }
        ]
    }
    attributes = {"Attributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "45"}]}
    config = RolloutConfig.from_aws(service, task_def, target_group, attributes, app_start_s=5)
    assert (config.desired_count, config.minimum_healthy_percent, config.maximum_percent) == (
        2,
        50,
        150,
    )
    assert config.circuit_breaker and config.rollback
    assert config.health_check_grace_period_s == 60 and config.stop_timeout_s == 60
    assert config.container_health_check == ContainerHealthCheck(15, 5, 4, 0)
    assert (config.tg_interval_s, config.healthy_threshold, config.unhealthy_threshold) == (
        10,
        3,
        4,
    )
    assert config.deregistration_delay_s == 45 and config.app_start_s == 5


def test_from_aws_falls_back_to_aws_defaults_for_missing_values():
    # moto's create_service returns deploymentConfiguration as None
    config = RolloutConfig.from_aws({"desiredCount": 1, "deploymentConfiguration": None})
    assert config == RolloutConfig(load_balanced=False)
    assert (config.minimum_healthy_percent, config.maximum_percent) == (100, 200)
    assert (config.healthy_threshold, config.unhealthy_threshold) == (5, 2)
    assert config.deregistration_delay_s == 300 and config.stop_timeout_s == 30


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"desired_count": 0}, "desired_count"),
        ({"desired_count": -2}, "desired_count"),
        ({"minimum_healthy_percent": 100, "maximum_percent": 100}, "no room"),
        ({"maximum_percent": 50}, "maximum_percent"),
        ({"stop_timeout_s": 200}, "stop_timeout_s"),
        ({"deregistration_delay_s": 4000}, "deregistration_delay_s"),
        ({"tg_interval_s": 5, "tg_timeout_s": 5}, "timeout"),
        ({"unhealthy_threshold": 1}, "unhealthy_threshold"),
        ({"threshold_type": "PERCENT"}, "threshold_type"),
    ],
)
def test_bad_config_raises_model_error(kwargs, words):
    with pytest.raises(ModelError, match=words):
        RolloutConfig(**kwargs)


def test_bad_describe_output_raises_model_error():
    with pytest.raises(ModelError, match="exactly one"):
        RolloutConfig.from_aws({"services": []})
    with pytest.raises(ModelError, match="desired_count"):
        circuit_breaker_threshold(-1)


def test_from_aws_reads_the_applied_stack(ctx):
    applied = stack.apply(ctx, N, target="ecs")
    config = release.rollout_config(ctx, N)
    service = ctx.client("ecs").describe_services(cluster=N.cluster, services=[N.service])
    grace = service["services"][0]["healthCheckGracePeriodSeconds"]
    assert config.desired_count == 1
    assert (config.minimum_healthy_percent, config.maximum_percent) == (100, 200)
    assert config.circuit_breaker and config.rollback
    assert config.health_check_grace_period_s == grace > 0
    # deploy/task-definition.json: interval 30, timeout 5, retries 3, startPeriod 60
    assert config.container_health_check == ContainerHealthCheck(30, 5, 3, 60)
    assert config.stop_timeout_s == 30
    assert config.load_balanced
    balancer = applied.outputs["alb"]
    tg = balancer.health_check
    assert (config.tg_interval_s, config.healthy_threshold, config.unhealthy_threshold) == (
        tg["HealthCheckIntervalSeconds"],
        tg["HealthyThresholdCount"],
        tg["UnhealthyThresholdCount"],
    )
    assert config.deregistration_delay_s == balancer.deregistration_delay_s
    assert simulate_rollout(config).outcome == "COMPLETED"


def test_threshold_configuration_types():
    assert RolloutConfig(threshold_type="COUNT", threshold_value=2).threshold == 2
    assert RolloutConfig(threshold_type="UNBOUNDED_PERCENT").threshold == 1
    assert RolloutConfig(desired_count=7).threshold == 4


def test_a_healthy_task_resets_the_failure_count_unless_told_not_to():
    # 4 tasks at 100/200: new-1 and new-2 crash, new-3/new-4 become healthy, new-5 crashes too
    faults = Failures(crash_at_start=True, only_tasks=(1, 2, 5))
    base = dict(desired_count=4, circuit_breaker=True, rollback=True)
    reset = simulate_rollout(RolloutConfig(**base), faults)
    assert reset.outcome == "COMPLETED" and reset.failed_tasks == 3
    assert reset.find("failure count reset", "circuit-breaker")
    no_reset = simulate_rollout(RolloutConfig(**base, reset_on_healthy_task=False), faults)
    assert no_reset.outcome == "ROLLED_BACK" and no_reset.failed_tasks == 3


def test_transient_failures_below_the_threshold_still_complete():
    result = simulate_rollout(
        RolloutConfig.guide(), Failures(crash_at_start=True, only_tasks=(1, 2))
    )
    assert result.outcome == "COMPLETED" and result.failed_tasks == 2


def test_guide_q5_comparison_shows_minutes_not_two():
    rows = {row["quantity"].split(" (")[0]: row for row in guide_q5_comparison()}
    assert rows["new-1 marked unhealthy"]["model"] == time_to_unhealthy(30, 2) < 120
    assert rows["failed tasks before rollback"]["model"] == 3
    assert rows["rollback starts"]["model"] > 3 * rows["rollback starts"]["guide"]


def test_guide_settings_come_from_the_guide_file():
    settings = load("rollout", RolloutGuide).settings
    config = RolloutConfig.guide()
    assert config.health_check_grace_period_s == settings.health_check_grace_period_s == 60
    assert (config.healthy_threshold, config.unhealthy_threshold) == (2, 2)
    assert config.circuit_breaker and config.rollback
    assert RolloutConfig.guide(desired_count=4).desired_count == 4


def _write_rollout_guide(tmp_path, edit):
    data = yaml.safe_load(guide_path("rollout").read_text())
    edit(data)
    (tmp_path / "rollout.yaml").write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        (lambda d: d["settings"].pop("rollback"), "settings.rollback", "Field required"),
        (
            lambda d: d["settings"].update(healthy_threshold="2"),
            "settings.healthy_threshold",
            "valid integer",
        ),
        (lambda d: d["q5"].update(stable_again=180), "q5.stable_again", "Extra inputs"),
        (
            lambda d: d["settings"].update(unhealthy_threshold=1),
            "unhealthy_threshold",
            "greater than or equal to 2",
        ),
    ],
)
def test_a_bad_rollout_guide_names_the_file_and_the_field(tmp_path, edit, field, problem):
    _write_rollout_guide(tmp_path, edit)
    with pytest.raises(GuideDataError) as info:
        load("rollout", RolloutGuide, directory=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "rollout.yaml") in message
    assert field in message and problem in message


def test_q5_comparison_reads_the_guides_timeline(tmp_path):
    _write_rollout_guide(tmp_path, lambda d: d["q5"].update(failed_tasks=7))
    timeline = load("rollout", RolloutGuide, directory=tmp_path).q5
    rows = {row["quantity"]: row for row in guide_q5_comparison(timeline=timeline)}
    assert rows["failed tasks before rollback"]["guide"] == 7
    assert rows["failed tasks before rollback"]["model"] == 3
