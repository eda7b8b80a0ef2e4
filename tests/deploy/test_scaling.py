"""The auto-scaling model follows the documented alarm, cooldown and capacity rules."""

import math

import matplotlib.pyplot as plt
import pytest
import yaml

from deploy import present
from deploy.guide import GuideDataError, load
from deploy.guide import path as guide_path
from deploy.guide.schema import MondayScenario
from deploy.models import prices
from deploy.models.common import ModelError
from deploy.models.scaling import (
    ScheduledAction,
    StepAdjustment,
    StepScaling,
    TargetTracking,
    percent_change,
    target_tracking_desired,
    task_hours,
    time_to_first_scale_out,
    time_to_scale_in,
)
from deploy.models.scaling_sim import replay
from deploy.models.scenarios import monday_load_curve, monday_morning

CPU70 = TargetTracking(target=70)


@pytest.mark.parametrize(
    ("current", "metric", "target", "desired"),
    [(1, 90, 70, 2), (2, 70, 70, 2), (3, 55, 70, 3), (3, 40, 70, 2), (1, 250, 100, 3)],
)
def test_target_tracking_desired_is_ceil_of_current_times_ratio(current, metric, target, desired):
    assert target_tracking_desired(current, metric, target) == desired


def test_alarm_windows_are_3_and_15_one_minute_datapoints():
    assert time_to_first_scale_out() == 180
    assert time_to_scale_in() == 900


def test_first_scale_out_after_3_datapoints_then_tasks_serve_after_start_delay():
    load = [0.3] * 10 + [1.5] * 20
    result = replay(load, CPU70, max_capacity=5, start_delay_s=60, stop_delay_s=0)
    out = result.activities[0]
    assert out.time_s == 10 * 60 + time_to_first_scale_out()
    assert (out.from_count, out.to_count) == (1, 2)  # CPU is capped at 100 %: ceil(100/70)
    ready_minute = int((out.time_s + 60) // 60)
    assert result.running[ready_minute - 1] == 1 and result.running[ready_minute] == 2
    assert result.desired[-1] == 3  # 1.5 task-units at 75 % on 2 tasks -> one more


def test_scale_in_waits_15_datapoints_below_90_percent_of_target():
    result = replay([0.3] * 30, CPU70, initial=3, start_delay_s=0, stop_delay_s=0)
    first_in = result.activities[0]
    assert first_in.time_s == time_to_scale_in()
    assert (first_in.from_count, first_in.to_count) == (3, 1)


def test_metric_just_under_target_never_scales_in():
    # 66 % is below the 70 % target but above the low alarm at 63 %
    result = replay([2 * 0.66] * 40, CPU70, initial=2, start_delay_s=0)
    assert result.activities == []


def test_disable_scale_in_keeps_capacity():
    policy = TargetTracking(target=70, disable_scale_in=True)
    assert replay([0.1] * 30, policy, initial=3).activities == []


def test_requests_per_target_uses_requests_per_minute():
    policy = TargetTracking(target=100, metric="requests")
    result = replay([250] * 10, policy, start_delay_s=0)
    assert result.activities[0].to_count == 3  # 250 / 100 = 2.5 -> 3 tasks
    assert result.metric[0] == 250 and result.metric[-1] == pytest.approx(250 / 3)


def test_step_scaling_adds_by_step_and_waits_out_its_cooldown():
    steps = (
        StepAdjustment(0, 10, 1),
        StepAdjustment(10, 20, 2),
        StepAdjustment(20, 30, 3),
        StepAdjustment(30, None, 4),
    )
    out = StepScaling(threshold=60, steps=steps)
    result = replay([0.85] * 3, out, max_capacity=10, start_delay_s=600)
    assert result.activities[0].to_count == 4  # 85 % is 25 above 60: +3
    assert len(result.activities) == 1  # same step during cooldown asks for no more

    scale_in = StepScaling(threshold=30, comparison="<=", steps=(StepAdjustment(None, 0, -1),))
    result = replay([0.1] * 16, scale_in, initial=5, max_capacity=5, stop_delay_s=0)
    assert [a.time_s for a in result.activities] == [60, 360, 660, 960]
    assert result.desired[-1] == 2


def test_scheduled_actions_set_min_and_max():
    actions = [
        ScheduledAction(5, min_capacity=3, max_capacity=3, name="morning"),
        ScheduledAction(10, min_capacity=1, max_capacity=1, name="evening"),
    ]
    result = replay([0.1] * 15, (), scheduled=actions, start_delay_s=0, stop_delay_s=0)
    assert result.desired[4] == 1 and result.desired[5] == 3 and result.desired[10] == 1
    assert [a.cause for a in result.activities] == [
        "scheduled action morning",
        "scheduled action evening",
    ]


def test_task_hours_are_billed_from_launch_to_stop_and_priced():
    steady = replay([0.5] * 60, (), initial=2, max_capacity=2)
    assert steady.task_hours == pytest.approx(2.0) == task_hours([2] * 60)
    assert steady.cost_usd == pytest.approx(2 * prices.fargate_hourly(1, 8))
    spiky = replay([0.3] * 5 + [1.5] * 25, CPU70, start_delay_s=120, stop_delay_s=0)
    assert spiky.task_hours > spiky.serving_task_hours  # pulling and starting are billed


def test_monday_morning_recomputes_the_guides_savings():
    monday = monday_morning()
    assert round(monday.guide_task_hours, 2) == 4.33
    assert monday.always_3_task_hours == 6
    assert round(monday.guide_saving_pct_correct, 1) == 27.8
    assert monday.guide_claimed_saving_pct == 53
    assert monday.earliest_scale_in_min == 15 > monday.guide_scale_in_wait_min
    assert monday.modelled_saving_pct == pytest.approx(
        prices.percent_saving(6, monday.modelled.task_hours)
    )
    assert monday.table()[0]["quantity"] == "task-hours 8:00-10:00"


def test_monday_morning_model_obeys_the_alarm_rules():
    monday = monday_morning()
    result = monday.modelled
    assert result.label(0) == "8:00" and len(result.load) == 120
    for activity in result.activities:
        minute = int(activity.time_s // 60)
        window = (
            result.metric[minute - 15 : minute]
            if activity.to_count < activity.from_count
            else (result.metric[minute - 3 : minute])
        )
        if activity.to_count < activity.from_count:
            assert all(m < 63 for m in window)
        else:
            assert all(m > 70 for m in window)
    assert max(result.desired) == 3 and min(result.desired) == 1


def test_scaling_plot_shows_metric_and_task_counts():
    monday = monday_morning()
    fig = present.scaling_plot(monday.modelled)
    top, bottom = fig.axes
    assert len(bottom.lines) >= 3 + len(monday.modelled.activities)  # desired, running, demand
    assert {"target", "low alarm"} <= {line.get_label() for line in top.lines}
    plt.close(fig)


def test_monday_table_renders_every_comparison_row():
    rows = monday_morning().table()
    assert present.rows_table(rows, "Monday").row_count == len(rows)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: replay([0.5], CPU70, min_capacity=3, max_capacity=1), "greater than max"),
        (lambda: replay([-1.0], CPU70), "load"),
        (lambda: replay([], CPU70), "at least one minute"),
        (lambda: replay([0.5], CPU70, initial=9), "outside"),
        (lambda: replay([0.5], CPU70, min_capacity=-1), "min_capacity"),
        (lambda: TargetTracking(metric="memory"), "metric"),
        (lambda: TargetTracking(target=150), "at most 100"),
        (lambda: StepScaling(threshold=1, steps=()), "at least one step"),
        (
            lambda: replay([0.5], [CPU70, TargetTracking(target=100, metric="requests")]),
            "same metric",
        ),
        (
            lambda: replay([0.5] * 3, (), scheduled=[ScheduledAction(1, min_capacity=5)]),
            "min 5 > max 3",
        ),
        (lambda: task_hours([1, -2]), "task count"),
        (lambda: target_tracking_desired(-1, 50, 70), "current_tasks"),
    ],
)
def test_bad_input_raises_model_error(call, words):
    with pytest.raises(ModelError, match=words):
        call()


def test_no_running_tasks_gives_no_metric():
    result = replay([0.5] * 5, (), min_capacity=0, max_capacity=2, initial=0)
    assert result.metric == [None] * 5 and not math.isnan(result.task_hours)


def _write_monday(tmp_path, edit):
    data = yaml.safe_load(guide_path("monday").read_text())
    edit(data)
    (tmp_path / "monday.yaml").write_text(yaml.safe_dump(data))
    return load("monday", MondayScenario, directory=tmp_path)


def test_monday_reads_the_guides_table_and_policy(tmp_path):
    def steady(data):
        data["rows"] = [
            {**data["rows"][0], "clock": "8:00", "cpu_pct": 50},
            {**data["rows"][0], "clock": "8:30", "cpu_pct": 50},
        ]
        data["policy"]["max_capacity"] = 2

    scenario = _write_monday(tmp_path, steady)
    assert monday_load_curve(scenario) == [0.5] * 30
    monday = monday_morning(scenario=scenario)
    assert monday.always_3_task_hours == 1.0  # 2 tasks (the maximum) for 30 minutes
    assert monday.modelled.activities == []  # 50 % CPU: under 70 %, over the 63 % low alarm


@pytest.mark.parametrize(
    ("edit", "field", "problem"),
    [
        (lambda d: d["rows"][2].pop("cpu_pct"), "rows[2].cpu_pct", "Field required"),
        (lambda d: d["rows"][1].update(clock="8.15"), "rows[1].clock", "pattern"),
        (lambda d: d["rows"].reverse(), "rows", "time order"),
        (lambda d: d["policy"].update(target="70"), "policy.target", "valid number"),
        (lambda d: d.pop("claimed_saving_pct"), "claimed_saving_pct", "Field required"),
    ],
)
def test_a_bad_monday_file_names_the_file_and_the_field(tmp_path, edit, field, problem):
    with pytest.raises(GuideDataError) as info:
        _write_monday(tmp_path, edit)
    message = str(info.value)
    assert str(tmp_path / "monday.yaml") in message
    assert field in message and problem in message


def test_step_bounds_are_relative_to_the_threshold_lower_inclusive_upper_exclusive():
    steps = (StepAdjustment(0, 20, 1), StepAdjustment(20, None, 3))
    policy = StepScaling(threshold=70, steps=steps)
    assert (policy.breaches(70), policy.breaches(69.9)) == (True, False)
    assert policy.count(89.9, base=2) == 3  # 19.9 above the threshold: the first step
    assert policy.count(90, base=2) == 5  # exactly 20 above: the second step starts there
    assert StepScaling(threshold=70, steps=(StepAdjustment(0, 20, 1),)).count(95, 2) is None


def test_percent_steps_round_as_aws_documents_and_exact_capacity_sets_the_count():
    up = StepScaling(70, (StepAdjustment(0, None, 50),), adjustment_type="PercentChangeInCapacity")
    down = StepScaling(
        20,
        (StepAdjustment(None, 0, -50),),
        comparison="<",
        adjustment_type="PercentChangeInCapacity",
    )
    assert up.count(80, base=1) == 2  # +0.5 of a task: a fraction below 1 becomes 1
    assert up.count(80, base=3) == 4  # +1.5 tasks: truncated to +1
    assert down.count(10, base=1) == 0  # -0.5: becomes -1
    assert down.count(10, base=3) == 2  # -1.5: truncated to -1
    assert [percent_change(10, p) for p in (127, -66.7, 0)] == [12, -6, 0]  # AWS's examples
    exact = StepScaling(70, (StepAdjustment(0, None, 4),), adjustment_type="ExactCapacity")
    assert exact.count(75, base=1) == 4


def test_min_adjustment_magnitude_raises_a_small_percent_change_as_aws_documents():
    assert percent_change(4, 25, min_magnitude=2) == 2  # AWS's example: 25 % of 4 -> 2
    assert percent_change(10, -50, min_magnitude=2) == -5  # already larger: unchanged
    assert percent_change(3, -10, min_magnitude=2) == -2  # -0.3 -> -1 -> at least -2
    assert percent_change(4, 0, min_magnitude=2) == 0  # no change stays none
    up = StepScaling(
        70,
        (StepAdjustment(0, None, 25),),
        adjustment_type="PercentChangeInCapacity",
        min_adjustment_magnitude=2,
    )
    assert up.count(80, base=4) == 6
    with pytest.raises(ModelError, match="only to PercentChangeInCapacity, not ChangeInCapacity"):
        StepScaling(70, (StepAdjustment(0, None, 1),), min_adjustment_magnitude=2)
    with pytest.raises(ModelError, match="min_adjustment_magnitude"):
        StepScaling(
            70,
            (StepAdjustment(0, None, 25),),
            adjustment_type="PercentChangeInCapacity",
            min_adjustment_magnitude=0,
        )
