"""Choice, numeric and ordering answers are graded with the right partial credit."""

import pytest

from quizzes.errors import GradingError
from quizzes.grading import grade, order_score, parse_answer, parse_number


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
