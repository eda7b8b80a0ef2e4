"""Answers of every type get the right verdict; the grading benchmark reads its sets strictly."""

import pytest

from bench.quiz_grading import LabelsError, Row, read_labels, summarize
from quizzes.errors import GradingError
from quizzes.grading import grade, order_score, parse_answer, parse_number
from quizzes.verdict import Grade, rubric_verdict


def test_single_choice(bank):
    item = bank.get("ecs-service-001")
    assert grade(item, 1).verdict == "good"
    wrong = grade(item, 0)
    assert wrong.verdict == "wrong" and wrong.score == 0 and "A new task starts" in wrong.feedback


def test_spot_the_bug(bank):
    item = bank.get("ecs-service-005")
    assert grade(item, 1).correct and not grade(item, 2).correct


def test_multiple_gives_partial_credit_and_punishes_guessing(bank):
    item = bank.get("ecs-service-002")  # right: 0 and 2
    assert grade(item, [0, 2]).score == 1.0 and grade(item, [2, 0]).verdict == "good"
    half = grade(item, [0])
    assert half.score == 0.5 and half.verdict == "partial"
    assert grade(item, [0, 1, 2, 3]).score == 0.0  # ticking everything earns nothing


@pytest.mark.parametrize(
    ("answer", "ok"),
    [(3, True), ("3 tasks", True), ("3.0", True), ("three", False), (2, False), ("4", False)],
)
def test_numeric(bank, answer, ok):
    item = bank.get("ecs-service-003")
    if answer == "three":
        with pytest.raises(GradingError, match="expected a number"):
            grade(item, answer)
        return
    g = grade(item, answer)
    assert g.correct is ok
    if not ok:
        assert "Answer: 3 tasks" in g.feedback


def test_parse_number_reads_units_and_money():
    assert parse_number("$55.51/month") == 55.51
    assert parse_number("27.8 %") == 27.8
    assert parse_number("1,000 requests") == 1000
    with pytest.raises(GradingError):
        parse_number(True)


def test_order_scores():
    assert order_score([0, 1, 2, 3]) == 1.0
    assert order_score([3, 2, 1, 0]) == 0.0
    assert order_score([1, 0, 2, 3]) == pytest.approx(5 / 6)  # one swapped pair of six
    assert order_score([1, 0, 2, 3], "positions") == 0.5
    assert order_score([1, 2, 3, 0], "positions") == 0.0  # shifted by one: no position right
    assert order_score([1, 2, 3, 0]) == 0.5  # ...but half the pairs are still in order


def test_ordering(bank):
    item = bank.get("ecs-service-004")
    assert grade(item, list(range(6))).verdict == "good"
    swapped = grade(item, [0, 1, 2, 3, 5, 4])
    assert swapped.verdict == "partial" and "Right order" in swapped.feedback
    assert grade(item, [5, 4, 3, 2, 1, 0]).verdict == "wrong"
    with pytest.raises(GradingError, match="exactly once"):
        grade(item, [0, 0, 1, 2, 3, 4])


def test_parse_answer_from_typed_text(bank):
    assert parse_answer(bank.get("ecs-service-001"), "2") == 1
    assert parse_answer(bank.get("ecs-service-001"), "b") == 1
    assert parse_answer(bank.get("ecs-service-002"), "3, 1") == [0, 2]
    # ordering: the user numbers the steps as SHOWN; map back to step indices
    assert parse_answer(bank.get("ecs-service-004"), "2 1 3 4 5 6", [1, 0, 2, 3, 4, 5]) == [
        0,
        1,
        2,
        3,
        4,
        5,
    ]


@pytest.mark.parametrize("text", ["", "9", "1,2", "x y z", "first"])
def test_parse_answer_refuses_bad_input(bank, text):
    with pytest.raises(GradingError):
        parse_answer(bank.get("ecs-service-001"), text)


def test_grade_refuses_wrong_shape(bank):
    with pytest.raises(GradingError):
        grade(bank.get("ecs-service-001"), "1")


# --- the shared verdict: contradictions, unsure grades and the learner's own rating ---


def test_rubric_verdict_rules():
    assert rubric_verdict(1.0, 1.0, 0) == "good"
    assert rubric_verdict(1.0, 0.8, 1) == "partial"  # a wrong claim caps it
    assert rubric_verdict(1.0, 0.8, 1, contradicted=True) == "wrong"  # a key point got wrong
    assert rubric_verdict(0.24, 0.24, 0) == "wrong" and rubric_verdict(0.5, 0.5, 0) == "partial"
    # one point of four is a thin answer, not a wrong one
    assert rubric_verdict(0.25, 0.25, 0) == "partial"


def test_a_keyword_list_is_at_best_partial():
    assert rubric_verdict(1.0, 1.0, 0, listed=True) == "partial"  # names, nothing explained
    assert rubric_verdict(0.4, 0.4, 0, listed=True) == "wrong"  # names too little
    assert rubric_verdict(1.0, 0.8, 1, listed=True) == "wrong"  # and a wrong claim besides


def test_an_unsure_grade_waits_for_the_learner():
    g = Grade(item_id="iam-001", verdict="good", score=0.72, confidence=0.3, unsure=True)
    assert g.shown_verdict == "unsure" and g.needs_self_rating
    sure = Grade(item_id="iam-001", verdict="good", score=0.9)
    assert sure.shown_verdict == "good" and not sure.needs_self_rating and sure.confidence == 1.0


@pytest.mark.parametrize(
    ("rating", "verdict", "score"),
    [("again", "wrong", 0.29), ("hard", "partial", 0.69), ("good", "good", 0.72)],
)
def test_the_learner_rating_decides_and_the_grader_grade_is_kept(rating, verdict, score):
    g = Grade(item_id="iam-001", verdict="good", score=0.72, confidence=0.3, unsure=True)
    rated = g.rated(rating)
    assert rated.verdict == verdict and rated.score == score and rated.self_rating == rating
    assert rated.grader == "self" and rated.shown_verdict == verdict and not rated.needs_self_rating
    assert rated.machine.verdict == "good" and rated.machine.score == 0.72
    assert rated.machine.grader == "offline" and rated.machine.confidence == 0.3
    assert rated.rated("good").machine == rated.machine  # re-rating keeps the grader's grade


def test_an_unknown_self_rating_is_refused():
    g = Grade(item_id="iam-001", verdict="good", score=0.72, unsure=True)
    with pytest.raises(ValueError, match="again, hard, good"):
        g.rated("easy")


# --- the grading benchmark reads its labelled sets strictly ---


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("answers: []", "non-empty list"),
        ("- item: x", "non-empty list"),
        ("answers:\n  - {item: iam-001, answer: x}", "lacks label"),
        ("answers:\n  - {item: iam-001, label: fine, answer: x}", "label 'fine'"),
        ("answers: [", "cannot read"),
    ],
)
def test_benchmark_refuses_a_bad_labelled_set(tmp_path, text, message):
    path = tmp_path / "answers.yaml"
    path.write_text(text)
    with pytest.raises(LabelsError, match=message):
        read_labels(path)


def test_benchmark_figures_count_what_the_issue_asks():
    def row(label, predicted, kind="x", unsure=False):
        return Row("iam-001", kind, label, predicted, unsure, 0.9, 0.5, [], [], 1.0)

    rows = [
        row("good", "good", "strong"),
        row("good", "partial", "strong", unsure=True),
        row("wrong", "good", "negated"),
        row("partial", "good", "negated"),  # right words negated: never good, whatever the label
        row("wrong", "wrong"),
    ]
    s = summarize(rows)
    assert s["agreement"] == 0.4 and s["confident_agreement"] == 0.5 and s["unsure_share"] == 0.2
    assert s["wrong_or_negated"] == 3 and s["wrong_or_negated_graded_good"] == 2
    assert s["strong"] == 2 and s["strong_graded_good"] == 0.5
    assert s["labelled_good_graded_good"] == 0.5
    unmarked = summarize([row("good", "good"), row("good", "wrong"), row("partial", "good")])
    assert unmarked["strong"] == 2 and unmarked["strong_graded_good"] == 0.5  # labelled good
    assert s["latency_ms_median"] == 1.0
