"""Plan a mock interview: mostly spoken questions, weakest topics first, sized to the clock."""

import random
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum

from quizzes.errors import QuizError
from quizzes.loader import Bank
from quizzes.progress import CardState, ProgressStore
from quizzes.schema import FreeTextItem, Item
from quizzes.timebox import DEFAULT_BOXES, TimeBoxes

# Interview order: the big picture first, then deep dives, then operations and money.
# Topics of equal weakness are asked in this order.
INTERVIEW_ORDER = (
    "architecture",
    "docker",
    "ecr",
    "iam",
    "task-definition",
    "ecs-cluster",
    "ecs-service",
    "alb",
    "networking",
    "secrets",
    "env-vars",
    "logs",
    "autoscaling",
    "cicd",
    "state",
    "troubleshooting",
    "costs",
)
MIN_FREE_TEXT_SHARE = 0.7  # at least this share of the planned questions are spoken answers
UNSEEN_SCORE = 0.5  # a topic never answered ranks between weak and strong ones
WEAK_SCORE = 0.7  # an item last scored below this counts as weak
OPENER = "architecture"  # asked first when the interview has room for two spoken answers


class Level(StrEnum):
    """Interview level: junior asks difficulty 1-2; senior asks 2-3 and the guide's Q1-Q9."""

    junior = "junior"
    senior = "senior"


def in_level(item: Item, level: Level | None) -> bool:
    """Return True if the item belongs to an interview at this level (None: every item)."""
    if level is None:
        return True
    if level is Level.junior:
        return item.difficulty <= 2
    interview = isinstance(item, FreeTextItem) and item.interview_question is not None
    return item.difficulty >= 2 or interview


def _topic_rank(topic: str) -> int:
    return INTERVIEW_ORDER.index(topic) if topic in INTERVIEW_ORDER else len(INTERVIEW_ORDER)


def rank_topics(items: Iterable[Item], states: dict[str, CardState], now: datetime) -> list[str]:
    """Return topics weakest first: lowest mean last score, then most items due."""
    by_topic: dict[str, list[Item]] = {}
    for it in items:
        by_topic.setdefault(it.topic, []).append(it)

    def key(topic: str) -> tuple:
        seen = [states[it.id] for it in by_topic[topic] if it.id in states]
        score = sum(s.last_score for s in seen) / len(seen) if seen else UNSEEN_SCORE
        due = sum(s.due <= now for s in seen)
        return (round(score, 6), -due, _topic_rank(topic))

    return sorted(by_topic, key=key)


def rank_items(
    items: list[Item],
    states: dict[str, CardState],
    now: datetime,
    rng: random.Random,
    *,
    senior: bool = False,
) -> list[Item]:
    """Return items in asking order: due, then weak, then unseen (shuffled), then strong."""
    jitter = {it.id: rng.random() for it in items}

    def key(it: Item) -> tuple:
        s = states.get(it.id)
        if s is None:
            tier, sub = 2.0, jitter[it.id]
        elif s.due <= now:
            tier, sub = 0.0, s.due.timestamp()
        elif s.last_score < WEAK_SCORE:
            tier, sub = 1.0, s.last_score
        else:
            tier, sub = 3.0, s.due.timestamp()
        if senior and getattr(it, "interview_question", None) and tier > 0:
            tier -= 0.5  # the guide's interview questions come first at senior level
        return (tier, sub)

    return sorted(items, key=key)


def mock_plan(
    bank: Bank,
    store: ProgressStore | None = None,
    *,
    minutes: float = 30,
    level: Level | str | None = None,
    seed: int | None = None,
    now: datetime | None = None,
    boxes: TimeBoxes = DEFAULT_BOXES,
) -> list[Item]:
    """Return the planned questions of a mock interview (follow-ups are added as it runs)."""
    if minutes <= 0:
        raise QuizError(f"minutes must be positive, got {minutes}")
    if level is not None and level not in set(Level):
        raise QuizError(f"unknown level {level!r}; choose one of {', '.join(Level)}")
    level = Level(level) if level is not None else None
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    pool = [it for it in bank.items.values() if in_level(it, level)]
    states = {s.item_id: s for s in store.cards()} if store is not None else {}
    spoken = [it for it in pool if isinstance(it, FreeTextItem)]
    if not spoken:
        raise QuizError(f"no free-text questions at level {level}; a mock interview needs them")
    budget = minutes * 60 * (1 - boxes.follow_up_share)
    topics = rank_topics(pool, states, now)
    if OPENER in topics and budget >= 2 * boxes.free_text:
        topics.remove(OPENER)
        topics.insert(0, OPENER)
    senior = level is Level.senior
    queues = {
        t: rank_items([it for it in pool if it.topic == t], states, now, rng, senior=senior)
        for t in topics
    }
    free = {t: [it for it in q if isinstance(it, FreeTextItem)] for t, q in queues.items()}
    quick = {t: [it for it in q if not isinstance(it, FreeTextItem)] for t, q in queues.items()}
    picked: dict[str, list[Item]] = {t: [] for t in topics}
    n_free = n_quick = 0
    while budget >= boxes.free_text and any(free.values()):
        for t in topics:
            if free[t] and budget >= boxes.free_text:
                picked[t].append(free[t].pop(0))
                budget -= boxes.free_text
                n_free += 1
    if not n_free:  # a very short interview still asks one spoken question (its box shrinks)
        first = next(t for t in topics if free[t])
        picked[first].append(free[first].pop(0))
        n_free, budget = 1, 0.0
    while budget >= boxes.other and any(quick.values()):
        for t in topics:
            share = n_free / (n_free + n_quick + 1)
            if quick[t] and budget >= boxes.other and share >= MIN_FREE_TEXT_SHARE:
                picked[t].append(quick[t].pop(0))
                budget -= boxes.other
                n_quick += 1
        if n_free / (n_free + n_quick + 1) < MIN_FREE_TEXT_SHARE:
            break
    return [it for t in topics for it in picked[t]]


def follow_up_of(plan: list[Item]) -> dict[str, str]:
    """Return {item id: id of the earlier item in the plan that lists it as a follow-up}."""
    parents: dict[str, str] = {}
    for i, item in enumerate(plan):
        for earlier in plan[:i]:
            if item.id in earlier.follow_ups:
                parents[item.id] = earlier.id
                break
    return parents
