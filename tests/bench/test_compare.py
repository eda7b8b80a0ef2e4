"""The guide comparison: a quick run fills both columns; the guide env is reused when unchanged."""

from __future__ import annotations

import sys

import pytest

from bench import _guide_env
from bench.figures import Figure
from bench.report import render
from tests.bench.quick import INFO, run_quick

IMAGE_ROWS = ("image size", "container start")


def test_side_by_side_table_shows_both_values_spreads_and_ratio():
    fig = Figure(
        "guide comparison", "/chat p50 latency", None, "ms", 20.0, [18.0, 20.0, 25.0], "cmd",
        versus=400.0, versus_samples=[390.0, 400.0, 410.0],
    )  # fmt: skip
    text = render([fig], INFO, quick=False, areas=["guide comparison"])
    assert "| figure | ours | guide's approach | ours ÷ guide's approach |" in text
    assert (
        "| /chat p50 latency | 20.0 ms (18.0–25.0, n=3) | 400.0 ms (390.0–410.0, n=3) | 0.05 |"
        in text
    )


def test_guide_env_is_reused_when_its_stamp_matches(tmp_path, monkeypatch):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / _guide_env.STAMP).write_text(_guide_env.requirements_hash() + "\n")

    def no_build(*args, **kwargs):
        raise AssertionError(f"rebuilt although the stamp matches: {args}")

    monkeypatch.setattr(_guide_env.subprocess, "run", no_build)
    assert _guide_env.ensure_guide_venv(venv) == venv / "bin" / "python"
    (venv / _guide_env.STAMP).write_text("stale\n")
    with pytest.raises(AssertionError, match="rebuilt"):
        _guide_env.ensure_guide_venv(venv)


def test_constraints_keep_the_service_pins_without_hashes(tmp_path):
    text = _guide_env.service_constraints(tmp_path / "c.txt").read_text()
    assert "fastapi==" in text and "--hash" not in text and "\\" not in text


@pytest.mark.slow
@pytest.mark.needs("wrk")
def test_quick_compare_run_fills_both_columns(tmp_path):
    # Builds build/guide-venv the first time (about a minute and 1.5 GB), then reuses it.
    text, data = run_quick("compare", tmp_path)
    figures = data["figures"]
    rows = [f for f in figures if not f["name"].startswith(IMAGE_ROWS)]
    assert len(rows) >= 12
    for f in rows:
        assert f["area"] == "guide comparison"
        assert f["value"] is not None and f["versus"] is not None, f
    images = [f for f in figures if f["name"].startswith(IMAGE_ROWS)]
    assert len(images) == 4 and all("not measured in quick mode" in f["note"] for f in images)
    by_name = {f["name"]: f for f in figures}
    assert by_name["installed size (site-packages)"]["versus_ratio"] < 1  # torch is big
    assert by_name["/chat errors"]["value"] == 0 and by_name["/chat errors"]["versus"] == 0
    auc = by_name["near-miss vs off-topic by similarity alone (AUC)"]
    assert 0 <= auc["value"] <= 1 and 0 <= auc["versus"] <= 1
    assert "## guide comparison" in text


def test_separation_is_the_chance_a_near_miss_beats_an_off_topic_question(monkeypatch):
    from types import SimpleNamespace

    from bench import _guide_eval
    from service.rag.embeddings import HashingEmbeddings
    from service.rag.vectorstore import FaissStore

    store = FaissStore.from_texts(
        ["The circuit breaker rolls a failing deployment back.", "Fargate Spot can be reclaimed."],
        HashingEmbeddings(dim=1024),
    )
    asked = SimpleNamespace(
        near_miss=[SimpleNamespace(question="When does the breaker roll a deployment back?")],
        off_topic=[
            SimpleNamespace(question="How long do I bake sourdough?"),
            SimpleNamespace(question="Fargate Spot reclaimed circuit breaker deployment back"),
        ],
    )
    monkeypatch.setattr(_guide_eval, "load_set", lambda folder: asked)
    got = _guide_eval.separation(store)
    # The near-miss beats the bread question and loses to the pasted words: 1 of 2 pairs.
    assert got == {"auc": 0.5, "off_above": 1, "near": 1, "off": 2}
