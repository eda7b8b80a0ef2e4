"""Summarise progress per topic: scores, FSRS recall now, weakest topics, what to review next."""

from dataclasses import dataclass
from datetime import UTC, datetime

from quizzes import scheduler
from quizzes.loader import Bank
from quizzes.progress import ProgressStore
from quizzes.schema import Item

RECALL_HELP = (
    "recall now: FSRS's predicted chance that you would recall the topic's reviewed items "
    "now. It is about 1.00 right after any review, even a poor one, and falls with time; a "
    "review is due when it nears 0.90. Last score is how well you last answered."
)


@dataclass(frozen=True)
class TopicStats:
    """One topic's numbers (scores 0..1; recall None until something was reviewed)."""

    topic: str
    items: int
    attempted: int
    accuracy: float  # mean last score of attempted items
    mastery: float  # mean last score over ALL items (unseen count as 0)
    recall: float | None  # mean FSRS retrievability now, over reviewed items
    due: int


def topic_stats(bank: Bank, store: ProgressStore, now: datetime | None = None) -> list[TopicStats]:
    """Return stats for every topic that has items, in topic order."""
    now = now or datetime.now(UTC)
    states = {s.item_id: s for s in store.cards() if s.item_id in bank.items}
    out = []
    for topic in sorted({it.topic for it in bank.items.values()}):
        ids = [it.id for it in bank.select(topic=topic)]
        seen = [states[i] for i in ids if i in states]
        scores = [s.last_score for s in seen]
        recall = [scheduler.retrievability(s.card, now) for s in seen]
        out.append(
            TopicStats(
                topic=topic,
                items=len(ids),
                attempted=len(seen),
                accuracy=round(sum(scores) / len(scores), 3) if scores else 0.0,
                mastery=round(sum(scores) / len(ids), 3),
                recall=round(sum(recall) / len(recall), 3) if recall else None,
                due=sum(s.due <= now for s in seen),
            )
        )
    return out


def weakest(stats: list[TopicStats], n: int = 3) -> list[str]:
    """Return the n weakest topics: attempted ones by accuracy, then unattempted ones."""
    tried = sorted((s for s in stats if s.attempted), key=lambda s: (s.accuracy, s.recall or 0))
    untried = [s for s in stats if not s.attempted]
    return [s.topic for s in [*tried, *untried][:n]]


def next_to_review(
    bank: Bank,
    store: ProgressStore,
    *,
    now: datetime | None = None,
    n: int = 10,
    topic: str | None = None,
    chapter: str | None = None,
) -> list[Item]:
    """Return what to study next: overdue items (most overdue first), then unseen items."""
    now = now or datetime.now(UTC)
    pool = {it.id: it for it in bank.select(topic=topic, chapter=chapter)}
    states = {s.item_id: s for s in store.cards() if s.item_id in pool}
    due = sorted((s for s in states.values() if s.due <= now), key=lambda s: s.due)
    unseen = [it for i, it in pool.items() if i not in states]
    return ([pool[s.item_id] for s in due] + unseen)[:n]
