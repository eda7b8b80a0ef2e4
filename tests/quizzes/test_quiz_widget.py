"""The notebook widget grades answers and writes to the same progress DB as the CLI."""

import pytest

from quizzes import session as session_module
from quizzes.errors import QuizError
from quizzes.loader import load_bank
from quizzes.progress import ProgressStore
from quizzes.widget import mock_widget, quiz_widget
from tests.quizzes.test_quiz_mock_plan import DATA, write_mock_bank


def test_chapter_widget_grades_and_records(quiz_env):
    box = quiz_widget(chapter="08")
    cards = {c.item.id: c for c in box.cards}
    assert len(cards) == 6
    single = cards["ecs-service-001"]
    single.input.value = 1
    single.check.click()
    assert "GOOD" in single.feedback.value
    multi = cards["ecs-service-002"]
    multi.input.buttons[0].value = True
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


def test_widget_choices_are_shuffled_when_the_item_repeats(quiz_env):
    first = quiz_widget(item_ids=["ecs-service-001"])
    (card,) = first.cards
    assert [label for label, _ in card.input.options][1] == "A new task starts"
    card.input.value = 1
    card.check.click()
    assert "GOOD" in card.feedback.value and "next due" in card.feedback.value
    first.session.store.close()
    again = quiz_widget(item_ids=["ecs-service-001"])
    (card,) = again.cards
    labels = [label for label, _ in card.input.options]
    assert labels.index("A new task starts") != 1  # moved
    card.input.value = 0
    card.check.click()
    assert "Right answer: " in card.feedback.value  # named by its shown number and text
    n = labels.index("A new task starts") + 1
    assert f"Right answer: {n}. A new task starts" in card.feedback.value
    again.session.store.close()


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_mock_widget_runs_the_same_interview_as_the_cli(quiz_env, tmp_path):
    clock = FakeClock()
    box = mock_widget(minutes=10, level="junior", seed=1, clock=clock, save_dir=tmp_path)
    assert box.q.item.id == "architecture-001" and "3:00" in box.status.value
    clock.t += 200  # over the 3-minute box
    box.tick()
    assert "OVER TIME" in box.status.value
    box.input.value = (
        "Users hit an Application Load Balancer; the image comes from ECR and secrets "
        "from Secrets Manager."
    )
    box.send.click()
    assert "OVERTIME" in box.feedback.value
    assert box.q.parent == "architecture-001" and "You didn&#x27;t say" in box.question.value
    box.input.value = "It keeps the desired count of Fargate tasks running."
    box.send.click()
    assert box.q.item.id == "autoscaling-002"
    box.input.value = "x"  # not a keyword list, not an answer either
    clock.t += 10 * 60  # the interview's time runs out
    box.send.click()
    assert box.q is None and "Time is up." in box.question.value
    assert box.transcript.parent == tmp_path and box.transcript.exists()
    assert "## Scores by topic" in box.report.value
    assert box.session.answered[0].overtime == 20
    box.session.store.close()
    with ProgressStore(quiz_env) as s:  # the bank items went to the CLI's progress file
        assert {r["item_id"] for r in s.reviews()} == {"architecture-001", "autoscaling-002"}


def test_mock_widget_shows_an_unreadable_answer_and_waits(quiz_env, tmp_path):
    bank = load_bank(write_mock_bank(tmp_path), DATA / "sections.yaml")
    box = mock_widget(minutes=30, seed=3, bank=bank, clock=FakeClock(), save_dir=tmp_path)
    for _ in range(40):  # answer the free-text questions until a single-choice one comes
        if box.q is None or box.q.item.type == "single":
            break
        asked = box.q
        box.input.value = "I would look at the logs first."
        box.send.click()
        assert box.q is not asked, f"the mock did not move on: {box.feedback.value[:300]}"
    assert box.q is not None and box.q.item.type == "single"
    box.input.value = "seven"
    box.send.click()
    assert "could not read" in box.feedback.value and box.q is not None
    box.session.store.close()


def test_widget_asks_for_a_self_rating_when_the_grader_is_unsure(quiz_env, monkeypatch):
    real = session_module.grade
    monkeypatch.setattr(
        session_module,
        "grade",
        lambda item, answer, **kw: real(item, answer, **kw).model_copy(update={"unsure": True}),
    )
    box = quiz_widget(item_ids=["autoscaling-002"])
    (card,) = box.cards
    card.input.value = "It takes a while, then the cooldown applies."
    card.check.click()
    assert "UNSURE" in card.feedback.value
    (rating,) = card.rating.children
    rating.buttons["good"].click()
    assert "GOOD" in card.feedback.value and "self-rated good" in card.feedback.value
    assert not card.rating.children
    box.session.store.close()
    with ProgressStore(quiz_env) as s:
        assert [r["grader"] for r in s.reviews()] == ["self"]


def test_mock_widget_waits_for_the_self_rating_before_moving_on(quiz_env, monkeypatch, tmp_path):
    real = session_module.grade
    monkeypatch.setattr(
        session_module,
        "grade",
        lambda item, answer, **kw: real(item, answer, **kw).model_copy(update={"unsure": True}),
    )
    box = mock_widget(minutes=10, level="junior", seed=1, clock=FakeClock(), save_dir=tmp_path)
    box.input.value = "Users reach a load balancer in front of the tasks."
    box.send.click()
    assert box.send.disabled and "UNSURE" in box.feedback.value
    assert box.q.item.id == "architecture-001"  # still on it
    box.rating.children[0].buttons["hard"].click()
    assert not box.send.disabled and "PARTIAL" in box.feedback.value
    assert box.q.parent == "architecture-001"  # the missed points are probed
    box.session.store.close()
