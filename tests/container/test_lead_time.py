"""The commit-to-production breakdown: measured steps plus the rollout model's AWS-only waits."""

import pytest

from bench.lead_time import GUIDE_S, _phases
from deploy.models.rollout import RolloutConfig
from deploy.models.rollout_sim import simulate_rollout
from deploy.resources import alb
from tests.bench.quick import run_quick


def test_modelled_phases_add_up_to_the_modelled_rollout():
    result = simulate_rollout(RolloutConfig.guide())
    phases = _phases(result)
    parts = [v for k, v in phases.items() if k != "total"]
    assert sum(parts) == pytest.approx(phases["total"])
    # The guide's 300 s deregistration delay is the largest single wait of its rollout.
    assert max(parts) == phases["draining the old task"] == 300
    assert GUIDE_S["total"] == GUIDE_S["tests"] + 9 * 60


@pytest.mark.container
def test_quick_run_reports_every_part_against_the_guide(base_image, tmp_path):
    _, data = run_quick("lead_time", tmp_path)
    figures = {f["name"]: f for f in data["figures"]}
    estimate = figures["AWS workflow, commit image → stable (estimate)"]
    measured = figures["everything this machine can run, summed"]["value"]
    total = figures["AWS only: total"]["value"]
    poll = figures["AWS only: waiter poll granularity (up to)"]["value"]
    assert estimate["value"] == pytest.approx(measured + total + poll)
    assert estimate["versus"] == GUIDE_S["total"] - GUIDE_S["tests"]
    draining = figures["AWS only: draining the old task"]["value"]
    assert draining == pytest.approx(alb.DEREGISTRATION_DELAY)  # ours, not AWS's default 300 s
    assert figures["CI tests before the deploy (not measured here)"]["value"] is None
    # Quick mode builds once, without priming the cache, and says so.
    assert (
        "quick: no priming build"
        in figures["build after a one-line code change (measured)"]["note"]
    )
