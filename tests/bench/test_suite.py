"""The test-suite figure: make test's own record of its wall time, read into BENCHMARKS.md."""

import json

from bench import suite


def test_record_appends_runs_and_keeps_the_newest(tmp_path):
    path = tmp_path / "test-suite.json"
    first = suite.record(1000.0, 1090.0, 0, "2", path)
    assert first["setup_s"] == 90.0 and first["tests_s"] == first["total_s"] - 90.0
    for rc in range(suite.KEEP + 3):
        suite.record(1000.0, 1010.0, rc, "2", path)
    runs = json.loads(path.read_text())
    assert len(runs) == suite.KEEP and runs[-1]["exit_code"] == suite.KEEP + 2


def test_the_figure_is_the_newest_passing_run(tmp_path, monkeypatch):
    path = tmp_path / "test-suite.json"
    path.write_text(json.dumps([
        {"date": "d1", "total_s": 500.0, "setup_s": 60.0, "tests_s": 440.0, "exit_code": 0,
         "workers": "2", "cores": 2, "load_after": [1.0, 1.0, 1.0]},
        {"date": "d2", "total_s": 700.0, "setup_s": 60.0, "tests_s": 640.0, "exit_code": 1,
         "workers": "2", "cores": 2, "load_after": [1.0, 1.0, 1.0]},
    ]))  # fmt: skip
    monkeypatch.setattr(suite, "RECORD", path)
    total, setup, tests = suite.run(quick=True)
    assert (total.value, total.goal, total.met) == (500.0, suite.GOAL_S, True)
    assert (setup.value, tests.value) == (60.0, 440.0) and "d1" in total.note


def test_no_record_says_so_instead_of_inventing_a_figure(tmp_path, monkeypatch):
    monkeypatch.setattr(suite, "RECORD", tmp_path / "missing.json")
    [figure] = suite.run(quick=False)
    assert figure.value is None and "no passing `make test` run" in figure.note
