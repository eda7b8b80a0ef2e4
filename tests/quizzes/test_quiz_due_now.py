"""An item due exactly now is due: drills, next-to-review and topic stats all count it."""

from datetime import UTC, datetime, timedelta

import pytest

from quizzes.session import drill
from quizzes.stats import next_to_review, topic_stats
from quizzes.verdict import Grade

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
DUE_NOW = "ecs-service-004"
DUE_LATER = "ecs-service-005"  # due one microsecond after DUE_NOW


@pytest.fixture
def due_at(store) -> datetime:
    """Fail DUE_NOW and, a microsecond later, DUE_LATER; return when DUE_NOW is due."""
    for item_id, at in ((DUE_NOW, NOW), (DUE_LATER, NOW + timedelta(microseconds=1))):
        store.record(
            item_id, "ecs-service", Grade(item_id=item_id, verdict="wrong", score=0.0), now=at
        )
    assert store.card(DUE_LATER).due - store.card(DUE_NOW).due == timedelta(microseconds=1)
    return store.card(DUE_NOW).due


def test_drill_asks_an_item_due_exactly_now_before_unseen_ones(bank, store, due_at):
    items = [it.id for it in drill(bank, store, chapter="08", count=10, now=due_at, seed=0).items]
    assert items[0] == DUE_NOW
    assert items[-1] == DUE_LATER  # not due yet: after every unseen item
    assert len(items) == 6


def test_next_to_review_lists_an_item_due_exactly_now(bank, store, due_at):
    ids = [it.id for it in next_to_review(bank, store, now=due_at, chapter="08")]
    assert ids[0] == DUE_NOW
    assert DUE_LATER not in ids


def test_topic_stats_count_an_item_due_exactly_now(bank, store, due_at):
    rows = {r.topic: r for r in topic_stats(bank, store, now=due_at)}
    assert rows["ecs-service"].attempted == 2
    assert rows["ecs-service"].due == 1
