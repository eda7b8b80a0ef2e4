"""The notebook widget grades answers and writes to the same progress DB as the CLI."""

import pytest

from quizzes.errors import QuizError
from quizzes.progress import ProgressStore
from quizzes.widget import quiz_widget


def test_chapter_widget_grades_and_records(quiz_env):
    box = quiz_widget(chapter="08")
    cards = {c.item.id: c for c in box.cards}
    assert len(cards) == 6
    single = cards["ecs-service-001"]
    single.input.value = 1
    single.check.click()
    assert "GOOD" in single.feedback.value
    multi = cards["ecs-service-002"]
    multi.input.children[0].value = True
    multi.check.click()
    assert "PARTIAL" in multi.feedback.value
    essay = cards["ecs-service-006"]
    essay.input.value = "It rolls back after three failed health checks."
    essay.check.click()
    assert "WRONG" in essay.feedback.value and "Wrong claims" in essay.feedback.value
    numeric = cards["ecs-service-003"]
    numeric.input.value = "lots"
    numeric.check.click()
    assert "expected a number" in numeric.feedback.value
    box.session.store.close()
    with ProgressStore(quiz_env) as s:  # the file the CLI reads (QUIZ_DB)
        assert {r["item_id"] for r in s.reviews()} == {
            "ecs-service-001",
            "ecs-service-002",
            "ecs-service-006",
        }


def test_widget_by_item_ids_and_ordering(quiz_env):
    box = quiz_widget(item_ids=["ecs-service-004"])
    (card,) = box.cards
    # type the shown steps back in their right order
    card.input.value = " ".join(str(card.order.index(i) + 1) for i in range(6))
    card.check.click()
    assert "GOOD" in card.feedback.value
    box.session.store.close()


def test_widget_refuses_bad_arguments(quiz_env):
    with pytest.raises(QuizError, match="exactly one"):
        quiz_widget()
    with pytest.raises(QuizError, match="unknown item ids"):
        quiz_widget(item_ids=["nope-001"])
    with pytest.raises(QuizError, match="no quiz items"):
        quiz_widget(chapter="15")
