"""The benchmark runner: a quick run writes BENCHMARKS-format output; bad input is refused."""

import subprocess
import sys

import pytest

from bench.figures import Figure, percentile
from bench.report import render
from bench.run import discover, has_run
from tests.bench.quick import INFO, ROOT, run_quick


def test_figure_judges_lower_and_higher_is_better_goals():
    slow = Figure("service", "start", 1.5, "s", 3.0, [2.0, 3.0, 4.0])
    good = Figure("quizzes", "agreement", 0.85, "", 0.9, higher_is_better=True)
    assert (slow.met, slow.ratio, slow.spread) == (False, 2.0, (2.0, 4.0))
    assert good.met is True and good.ratio == pytest.approx(0.9 / 0.85)
    assert Figure("x", "no goal", None, "s", 1.0).met is None


def test_percentile_is_nearest_rank_and_refuses_no_samples():
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile([5.0], 50) == 5.0
    with pytest.raises(RuntimeError, match="no samples"):
        percentile([], 50)


def test_report_lists_every_goal_not_met_with_its_numbers():
    figures = [
        Figure("service", "start → first /health 200", 1.5, "s", 3.0, [2.5, 3.0, 3.5], "cmd"),
        Figure("service", "installed size", 300, "MB", 200.0, [], "cmd"),
        Figure("stack", "`stack` failed", None, "", None, note="moto did not start"),
    ]
    text = render(figures, INFO, quick=False, areas=["service", "stack"])
    missed = text.split("## Goals not met")[1]
    assert "start → first /health 200**: 3.00 s against a goal of 1.50 s (ratio 2.00)" in missed
    assert "installed size" not in missed
    assert "moto did not start" in missed
    assert "| 2.50–3.50 s (3) |" in text


def test_quick_report_does_not_judge_speed():
    slow = Figure("service", "start → first /health 200", 1.5, "s", 9.0, [9.0], "cmd")
    text = render([slow], INFO, quick=True, areas=["service"])
    assert "not judged" in text
    assert "ratio 6.00" not in text


def test_every_benchmark_module_is_found_and_run_protocol_is_checked():
    names = discover()
    assert {"service", "stack", "retrieval", "quiz_grading"} <= set(names)
    assert not {"run", "figures", "report", "adapters"} & set(names)
    import bench.quiz_grading
    import bench.stack

    assert has_run(bench.stack)
    assert has_run(bench.quiz_grading)


def test_unknown_benchmark_name_is_refused_by_name(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--only", "nope", "--out", str(tmp_path / "B.md")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "unknown benchmark(s) nope" in proc.stderr
    assert not (tmp_path / "B.md").exists()


def test_zero_jobs_is_refused(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--jobs", "0", "--only", "stack",
         "--out", str(tmp_path / "B.md")],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--jobs must be at least 1, got 0" in proc.stderr
    assert not (tmp_path / "B.md").exists()


@pytest.mark.needs("wrk")
def test_quick_run_of_service_and_stack_writes_the_report(tmp_path):
    text, data = run_quick("service,stack", tmp_path)
    for heading in ("# Benchmarks", "## Machine", "## service", "## stack", "## Goals not met"):
        assert heading in text
    assert "| figure | goal | value | min–max (n) | ratio to goal |" in text
    figures = data["figures"]
    names = {f["name"] for f in figures}
    assert {"start → first /health 200", "/chat p99 latency", "apply, whole stack (cold)"} <= names
    assert all(f["value"] is not None for f in figures), [f for f in figures if f["value"] is None]
    assert data["machine"]["cores"] >= 1
    # The no-op apply's AWS calls are counted, not timed: judged even in quick mode.
    calls = {f["name"]: f for f in figures if f["unit"] == "calls"}
    assert set(calls) == {
        "AWS calls, no-op apply of the whole stack",
        "identical AWS calls repeated, no-op apply",
        "GetCallerIdentity calls, no-op apply",
    }
    assert all(f["met"] for f in calls.values()), calls
    assert "| AWS calls, no-op apply of the whole stack | ≤ 50 calls |" in text


@pytest.mark.container
@pytest.mark.slow
def test_quick_run_of_the_other_benchmarks_measures_every_figure(tmp_path):
    # service and stack: above; compare, soak and lead_time: their own tests.
    others = "image,workbook_run,quiz_grading,retrieval"
    text, data = run_quick(others, tmp_path)
    figures = data["figures"]
    assert {f["area"] for f in figures} == {"container", "workbook run", "quizzes", "retrieval"}
    assert all(f["value"] is not None for f in figures), [f for f in figures if f["value"] is None]
    by_name = {f["name"]: f for f in figures}
    assert by_name["checked exercises"]["goal"] == 48  # counted from workbook/checks/
    assert by_name["checked exercises"]["value"] >= 11
    assert "| image size added to the base | ≤ 300 MB |" in text
    assert "| 4400 MB |" in text  # the guide's image, the container table's anchor
