"""The grading benchmark reports its tuning set file by file and as a whole."""

from bench.quiz_grading import TUNING, TUNING2, TUNING3, TUNING_SETS, evaluate, read_labels


def test_the_tuning_set_is_reported_whole_and_per_file():
    assert TUNING_SETS == (TUNING, TUNING2, TUNING3)  # the retired held-out set is tuning data
    report = evaluate(labels=[TUNING, TUNING2], heldout=None, quick=True)
    tuning = report["tuning"]
    by_file = tuning["by_file"]
    assert list(by_file) == ["bench/grading_labels.yaml", "bench/grading_tuning2.yaml"]
    assert tuning["set"] == " + ".join(by_file)
    assert tuning["answers"] == sum(f["answers"] for f in by_file.values())
    assert by_file["bench/grading_tuning2.yaml"]["answers"] == len(read_labels(TUNING2))
    assert report["heldout"] is None  # none given: nothing of it is graded or shown
