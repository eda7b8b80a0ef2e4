"""The grading benchmark reports its tuning set file by file and as a whole."""

from bench.quiz_grading import (
    HELDOUT,
    QUICK_EVERY,
    TUNING,
    TUNING2,
    TUNING3,
    TUNING4,
    TUNING5,
    TUNING_SETS,
    evaluate,
    figures,
    read_labels,
)


def test_the_tuning_set_is_reported_whole_and_per_file():
    assert TUNING_SETS == (
        TUNING,
        TUNING2,
        TUNING3,
        TUNING4,
        TUNING5,
    )  # retired held-out sets are tuning
    assert HELDOUT not in TUNING_SETS
    report = evaluate(labels=[TUNING, TUNING2], heldout=None, quick=True)
    tuning = report["tuning"]
    by_file = tuning["by_file"]
    assert list(by_file) == ["bench/grading_labels.yaml", "bench/grading_tuning2.yaml"]
    assert tuning["set"] == " + ".join(by_file)
    assert tuning["answers"] == sum(f["answers"] for f in by_file.values())
    quick = len(read_labels(TUNING2)[::QUICK_EVERY])  # --quick: every 4th answer
    assert by_file["bench/grading_tuning2.yaml"]["answers"] == quick
    assert report["heldout"] is None  # none given: nothing of it is graded or shown


def test_each_tuning_file_has_its_own_figure():
    names = [f.name for f in figures(evaluate(heldout=None, quick=True))]
    assert len(names) == len(set(names))  # two sets' answers.yaml are told apart by folder
    assert any("grading_tuning4" in n for n in names)
    assert any("grading_tuning5" in n for n in names)


def test_a_quick_run_never_replaces_the_measured_results(tmp_path, capsys):
    from bench import quiz_grading

    before = quiz_grading.RESULTS.read_bytes()
    assert quiz_grading.main(["--quick", "--labels", str(TUNING), "--no-heldout"]) == 0
    assert quiz_grading.RESULTS.read_bytes() == before
    assert "left as it was" in capsys.readouterr().out
    out = tmp_path / "quick.json"
    assert quiz_grading.main(["--quick", "--labels", str(TUNING), "--out", str(out)]) == 0
    assert out.exists()
