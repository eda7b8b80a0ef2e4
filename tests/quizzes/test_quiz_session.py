"""Drills pick due work first; the mock interview is sequenced and timed; stats add up."""

from datetime import UTC, datetime, timedelta

import pytest

from quizzes import explain, scheduler
from quizzes.schema import FreeTextItem
from quizzes.session import Session, answer_text, drill, follow_up_of, mock, mock_plan
from quizzes.stats import next_to_review, topic_stats, weakest
from quizzes.verdict import Grade

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_drill_filters_by_topic_and_chapter(bank):
    s = drill(bank, topic="autoscaling", count=10, seed=1)
    assert {it.topic for it in s.items} == {"autoscaling"}
    s = drill(bank, chapter="08", count=3, seed=1)
    assert len(s.items) == 3 and {it.chapter for it in s.items} == {"08"}


def test_drill_puts_due_items_first(bank, store):
    store.record(
        "ecs-service-004",
        "ecs-service",
        Grade(item_id="ecs-service-004", verdict="wrong", score=0.0),
        now=NOW,
    )
    later = NOW + timedelta(days=2)
    s = drill(bank, store, chapter="08", count=3, now=later, seed=0)
    assert s.items[0].id == "ecs-service-004"


def test_answers_are_recorded_and_reported(bank, store):
    s = drill(bank, store, topic="ecs-service", count=6, seed=0)
    item = bank.get("ecs-service-001")
    s.answer(item, 1)
    s.answer(bank.get("ecs-service-002"), [0])
    assert store.card("ecs-service-001").last_score == 1.0
    assert s.report() == {"ecs-service": {"answered": 2, "score": 0.75, "overtime": 0}}


def test_stats_mastery_recall_weakest_next(bank, store):
    store.record(
        "autoscaling-001",
        "autoscaling",
        Grade(item_id="autoscaling-001", verdict="good", score=1.0),
        now=NOW,
    )
    store.record(
        "ecs-service-001",
        "ecs-service",
        Grade(item_id="ecs-service-001", verdict="wrong", score=0.0),
        now=NOW,
    )
    rows = {r.topic: r for r in topic_stats(bank, store, now=NOW + timedelta(days=5))}
    assert rows["autoscaling"].mastery == 0.5 and rows["autoscaling"].accuracy == 1.0
    assert rows["ecs-service"].attempted == 1 and rows["ecs-service"].accuracy == 0.0
    assert 0 < rows["ecs-service"].recall < rows["autoscaling"].recall <= 1
    assert rows["architecture"].recall is None
    assert weakest(list(rows.values()), 2) == ["ecs-service", "autoscaling"]
    nxt = next_to_review(bank, store, now=NOW + timedelta(days=1), n=3)
    assert nxt[0].id == "ecs-service-001"  # the failed one is due first
    assert "autoscaling-001" not in [it.id for it in nxt[:2]]


def test_mock_starts_with_architecture_and_is_mostly_spoken(bank):
    plan = mock_plan(bank, minutes=30, seed=3)
    assert plan[0].id == "architecture-001"
    assert sum(isinstance(it, FreeTextItem) for it in plan) == 3 and len(plan) == 4
    assert len({it.id for it in plan}) == len(plan)


def test_mock_respects_the_time_budget(bank):
    short = mock_plan(bank, minutes=4, seed=0)
    assert [it.id for it in short] == ["architecture-001"]  # a spoken answer, room to follow up


def test_mock_session_expires_with_the_clock(bank):
    t = [1000.0]
    s = mock(bank, minutes=10, seed=0, clock=lambda: t[0])
    assert s.time_left() == 600 and not s.expired()
    t[0] += 601
    assert s.expired() and s.time_left() == 0


def test_drill_puts_recently_mastered_items_last(bank, store):
    store.record(
        "autoscaling-001",
        "autoscaling",
        Grade(item_id="autoscaling-001", verdict="good", score=1.0),
        now=NOW,
    )
    s = drill(bank, store, topic="autoscaling", count=2, now=NOW + timedelta(minutes=1), seed=0)
    assert [it.id for it in s.items] == ["autoscaling-002", "autoscaling-001"]


def test_follow_ups_are_labelled_in_the_plan(bank):
    plan = [bank.get(i) for i in ("architecture-001", "ecs-service-006", "ecs-service-003")]
    parents = follow_up_of(plan)
    assert parents == {"ecs-service-006": "architecture-001", "ecs-service-003": "ecs-service-006"}


def test_choices_keep_their_order_first_and_shuffle_when_repeated(bank, store):
    item = bank.get("ecs-service-001")  # the right answer is 2. A new task starts
    first = Session([item], store, seed=0)
    q = first.next_question()
    assert q.order is None and q.label(1) == "2. A new task starts"
    first.submit(q, "2")
    again = Session([item], store, seed=0)  # the store has seen it: a repeat
    q = again.next_question()
    assert sorted(q.order) == [0, 1, 2] and q.number(1) != 2
    a = again.submit(q, str(q.number(1)))  # the learner picks it where it is now shown
    assert a.grade.correct and a.answer == 1 and a.answer_text == q.label(1)
    assert store.reviews("ecs-service-001")[-1]["item_id"] == "ecs-service-001"


def test_a_repeat_within_one_session_is_shuffled_too(bank):
    item = bank.get("ecs-service-005")
    s = Session([item, item], seed=1)
    first = s.next_question()
    assert first.order is None
    assert s.question(item).order not in (None, [0, 1, 2])


def test_a_partly_right_multiple_choice_names_the_missed_option(bank):
    s = Session([bank.get("ecs-service-002")])
    a = s.submit(s.next_question(), "1")
    text = explain.feedback(a)
    assert a.grade.verdict == "partial"
    assert "You missed: 3. A task stopped for failing ELB health checks" in text
    assert "Right answers: 1. A task that never reaches RUNNING; 3. A task stopped" in text
    other = Session([bank.get("ecs-service-002")])
    b = other.submit(other.next_question(), "1,2")
    assert b.grade.verdict != "good"
    assert "Not right: 2. A single failed ALB health-check probe" in explain.feedback(b)


def test_answers_read_as_numbers_and_text_never_bare_indices(bank):
    item = bank.get("ecs-service-001")
    assert answer_text(item, 1) == "2. A new task starts"
    steps = bank.get("ecs-service-004")
    assert answer_text(steps, [1, 0]).startswith("2. Register it with the target group; 1. Start")


def test_recall_is_computed_from_stability_and_elapsed_time(store):
    state = store.record(
        "x-001", "x", Grade(item_id="x-001", verdict="partial", score=0.63), now=NOW
    )
    card = state.card
    assert scheduler.retrievability(card, NOW) == 1.0
    half_day = scheduler.retrievability(card, NOW + timedelta(hours=12))
    decay = -scheduler._SCHEDULER.parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    assert half_day == pytest.approx((1 + factor * 0.5 / card.stability) ** decay)
    assert half_day < 0.995  # py-fsrs alone says 1.0 for the whole first day
    at_stability = scheduler.retrievability(card, NOW + timedelta(days=card.stability))
    assert at_stability == pytest.approx(0.9)  # FSRS: R = 0.9 after S days
