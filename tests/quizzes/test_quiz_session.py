"""Drills pick due work first; the mock interview is sequenced and timed; stats add up."""

from datetime import UTC, datetime, timedelta

from quizzes.schema import FreeTextItem
from quizzes.session import drill, mock, mock_plan
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
    assert s.report() == {"ecs-service": {"answered": 2, "score": 0.75}}


def test_stats_mastery_retention_weakest_next(bank, store):
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
    assert 0 < rows["ecs-service"].retention < rows["autoscaling"].retention <= 1
    assert rows["architecture"].retention is None
    assert weakest(list(rows.values()), 2) == ["ecs-service", "autoscaling"]
    nxt = next_to_review(bank, store, now=NOW + timedelta(days=1), n=3)
    assert nxt[0].id == "ecs-service-001"  # the failed one is due first
    assert "autoscaling-001" not in [it.id for it in nxt[:2]]


def test_mock_starts_with_architecture_and_follows_up(bank):
    plan = mock_plan(bank, minutes=30, seed=3)
    ids = [it.id for it in plan]
    assert plan[0].topic == "architecture"
    # architecture-001 -> ecs-service-006 -> ecs-service-003 (follow-up chain, asked at once)
    assert ids[:3] == ["architecture-001", "ecs-service-006", "ecs-service-003"]
    assert sum(isinstance(it, FreeTextItem) for it in plan) >= len(plan) / 2
    assert len(ids) == len(set(ids))


def test_mock_respects_the_time_budget(bank):
    short = mock_plan(bank, minutes=4, seed=0)
    assert short[0].id == "architecture-001" and len(short) == 2
    assert not isinstance(short[1], FreeTextItem)  # 3 min + 1 min: no room for a second essay


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
    from quizzes.session import follow_up_of

    plan = mock_plan(bank, minutes=30, seed=3)
    parents = follow_up_of(plan)
    assert parents["ecs-service-006"] == "architecture-001"
    assert parents["ecs-service-003"] == "ecs-service-006"
    assert "architecture-001" not in parents
