"""Replay the guide's scenarios through the models and set its claims beside the results.

The guide's numbers come from its data files (deploy/guide/rollout.yaml, monday.yaml and,
for its own cost arithmetic, cost_claims.yaml); every other number is computed by the rollout,
scaling and cost models. docs/errata.md explains each difference (items 1, 3, 4 and 5).
"""

import itertools
from dataclasses import dataclass

from deploy.guide import load
from deploy.guide.schema import MondayRow, MondayScenario, Q5Timeline, RolloutGuide
from deploy.models import cost_claims, prices
from deploy.models.rollout import Failures, RolloutConfig
from deploy.models.rollout_sim import simulate_rollout
from deploy.models.scaling import ScalingResult, TargetTracking, task_hours, time_to_scale_in
from deploy.models.scaling_sim import replay

__all__ = ["MondayMorning", "guide_q5_comparison", "monday_load_curve", "monday_morning"]


def guide_q5_comparison(
    config: RolloutConfig | None = None, timeline: Q5Timeline | None = None
) -> list[dict[str, object]]:
    """Return the guide's Q5 failure timeline beside the modelled one (errata items 1 and 3)."""
    guide = timeline or load("rollout", RolloutGuide).q5
    result = simulate_rollout(
        config or RolloutConfig.guide(), Failures(fails_alb_health_check=True)
    )
    start = result.find("RUNNING", "new-1")[0].time_s
    unhealthy = next(e.time_s for e in result.find("target unhealthy") if "new-1" in e.detail)
    rollback = result.find("rollback started")
    done = result.time_to_complete_s
    return [
        {
            "quantity": "new-1 marked unhealthy (s after it starts)",
            "guide": guide.target_unhealthy_s,
            "model": unhealthy - start,
        },
        {
            "quantity": "rollback starts (s after the first new task starts)",
            "guide": guide.rollback_starts_s,
            "model": rollback[0].time_s - start if rollback else None,
        },
        {
            "quantity": "service stable again (s)",
            "guide": guide.stable_again_s,
            "model": None if done is None else done - start,
        },
        {
            "quantity": "failed tasks before rollback",
            "guide": guide.failed_tasks,
            "model": result.failed_tasks,
        },
    ]


def monday_load_curve(scenario: MondayScenario | None = None) -> list[float]:
    """Return per-minute CPU demand in task-units, interpolated from the guide's table."""
    rows = (scenario or load("monday", MondayScenario)).rows
    # demand = tasks x CPU % at each row, minutes counted from the first row
    points = [(r.minute - rows[0].minute, r.tasks_before * r.cpu_pct / 100) for r in rows]
    curve = []
    for minute in range(points[-1][0]):
        (m0, d0), (m1, d1) = next(
            (a, b) for a, b in itertools.pairwise(points) if a[0] <= minute < b[0]
        )
        curve.append(d0 + (d1 - d0) * (minute - m0) / (m1 - m0))
    return curve


@dataclass
class MondayMorning:
    """The guide's Monday-morning claims beside the modelled replay."""

    guide_rows: tuple[MondayRow, ...]
    guide_task_hours: float
    guide_claimed_saving_pct: float
    guide_saving_pct_correct: float
    always_3_task_hours: float  # the maximum capacity, all morning
    modelled: ScalingResult
    modelled_saving_pct: float
    earliest_scale_in_min: float
    guide_scale_in_wait_min: float

    def table(self) -> list[dict[str, object]]:
        """Return guide-vs-model rows: task-hours, saving, scale-in wait, first scale-out/in."""
        out = next((a for a in self.modelled.activities if a.to_count > a.from_count), None)
        in_ = next((a for a in self.modelled.activities if a.to_count < a.from_count), None)
        guide_out = next((r.clock for r in self.guide_rows if r.tasks_after > r.tasks_before), None)
        guide_in = next((r.clock for r in self.guide_rows if r.tasks_after < r.tasks_before), None)
        first, last = self.guide_rows[0].clock, self.guide_rows[-1].clock
        return [
            {
                "quantity": f"task-hours {first}-{last}",
                "guide": round(self.guide_task_hours, 2),
                "model": round(self.modelled.task_hours, 2),
            },
            {
                "quantity": "saving vs always-3 (%)",
                "guide": self.guide_claimed_saving_pct,
                "model": round(self.modelled_saving_pct, 1),
                "guide, recomputed": round(self.guide_saving_pct_correct, 1),
            },
            {
                "quantity": "wait before scale-in (min)",
                "guide": self.guide_scale_in_wait_min,
                "model": self.earliest_scale_in_min,
            },
            {
                "quantity": "first scale-out",
                "guide": guide_out,
                "model": self.modelled.label(int(out.time_s // 60)) if out else None,
            },
            {
                "quantity": "first scale-in",
                "guide": guide_in,
                "model": self.modelled.label(int(in_.time_s // 60)) if in_ else None,
            },
        ]


def monday_morning(
    policy: TargetTracking | None = None,
    *,
    start_delay_s: float | None = None,
    stop_delay_s: float | None = None,
    scenario: MondayScenario | None = None,
) -> MondayMorning:
    """Return the guide's Monday morning (monday.yaml) claimed vs modelled, default its policy."""
    scenario = scenario or load("monday", MondayScenario)
    p = scenario.policy
    policy = policy or TargetTracking(
        target=p.target,
        scale_out_cooldown_s=p.scale_out_cooldown_s,
        scale_in_cooldown_s=p.scale_in_cooldown_s,
    )
    curve = monday_load_curve(scenario)
    modelled = replay(
        curve,
        policy,
        min_capacity=p.min_capacity,
        max_capacity=p.max_capacity,
        start_delay_s=start_delay_s,
        stop_delay_s=stop_delay_s,
        start_label=scenario.rows[0].clock,
    )
    # the guide's own task-hours: its "Cost Impact" segments, computed with the cost claims
    guide_hours = next(c for c in cost_claims.GUIDE_CLAIMS if c.id == "monday-task-hours").computed
    always_max = task_hours([p.max_capacity] * len(curve))
    return MondayMorning(
        guide_rows=tuple(scenario.rows),
        guide_task_hours=guide_hours,
        guide_claimed_saving_pct=scenario.claimed_saving_pct,
        guide_saving_pct_correct=prices.percent_saving(always_max, guide_hours),
        always_3_task_hours=always_max,
        modelled=modelled,
        modelled_saving_pct=prices.percent_saving(always_max, modelled.task_hours),
        earliest_scale_in_min=time_to_scale_in(60, policy.low_datapoints) / 60,
        guide_scale_in_wait_min=scenario.claimed_scale_in_wait_min,
    )
