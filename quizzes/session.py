"""Run drills and timed mock interviews over the bank, recording answers as progress."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from quizzes.grading import grade
from quizzes.loader import Bank
from quizzes.progress import ProgressStore
from quizzes.schema import FreeTextItem, Item
from quizzes.verdict import Grade

# Interview order: the big picture first, then deep dives, then operations and money.
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


@dataclass
class Answered:
    """One answered item in a session."""

    item: Item
    answer: object
    grade: Grade


@dataclass
class Session:
    """A drill or mock interview: the items, the answers so far, and an optional deadline."""

    items: list[Item]
    store: ProgressStore | None = None
    deadline: float | None = None  # monotonic seconds
    clock: Callable[[], float] = time.monotonic
    answered: list[Answered] = field(default_factory=list)

    def time_left(self) -> float | None:
        """Return seconds left, or None if untimed."""
        return None if self.deadline is None else max(0.0, self.deadline - self.clock())

    def expired(self) -> bool:
        """Return True once the deadline has passed."""
        return self.deadline is not None and self.clock() >= self.deadline

    def answer(self, item: Item, answer: object, *, now: datetime | None = None, **kw) -> Grade:
        """Grade an answer, store it as progress, and return the grade."""
        g = grade(item, answer, **kw)
        self.answered.append(Answered(item, answer, g))
        if self.store is not None:
            self.store.record(item.id, item.topic, g, answer=str(answer), now=now)
        return g

    def report(self) -> dict[str, dict[str, float]]:
        """Return {topic: {answered, score}} with the mean score per topic."""
        by_topic: dict[str, list[float]] = {}
        for a in self.answered:
            by_topic.setdefault(a.item.topic, []).append(a.grade.score)
        return {
            t: {"answered": len(s), "score": round(sum(s) / len(s), 3)} for t, s in by_topic.items()
        }

    def overall(self) -> float:
        """Return the mean score over every answered item (0 if none)."""
        scores = [a.grade.score for a in self.answered]
        return round(sum(scores) / len(scores), 3) if scores else 0.0


def drill(
    bank: Bank,
    store: ProgressStore | None = None,
    *,
    topic: str | None = None,
    chapter: str | None = None,
    count: int = 10,
    now: datetime | None = None,
    seed: int | None = None,
) -> Session:
    """Return a drill for a topic/chapter: overdue items, then unseen (shuffled), then the rest."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    pool = bank.select(topic=topic, chapter=chapter)
    states = {s.item_id: s for s in store.cards()} if store is not None else {}
    due = sorted(
        (it for it in pool if it.id in states and states[it.id].due <= now),
        key=lambda it: states[it.id].due,
    )
    unseen = [it for it in pool if it.id not in states]
    rng.shuffle(unseen)
    later = sorted(
        (it for it in pool if it.id in states and states[it.id].due > now),
        key=lambda it: states[it.id].due,
    )
    return Session(items=(due + unseen + later)[:count], store=store)


def mock_plan(
    bank: Bank,
    *,
    minutes: float = 30,
    seed: int | None = None,
    minutes_per_free_text: float = 3.0,
    minutes_per_other: float = 1.0,
) -> list[Item]:
    """Sequence a mock interview: architecture first, deep dives with follow-ups, mostly free text."""
    rng = random.Random(seed)
    budget, plan, seen = minutes, [], set()

    def cost(it: Item) -> float:
        return minutes_per_free_text if isinstance(it, FreeTextItem) else minutes_per_other

    def add(it: Item) -> None:
        nonlocal budget
        if it.id in seen or cost(it) > budget:
            return
        seen.add(it.id)
        plan.append(it)
        budget -= cost(it)
        for ref in it.follow_ups:  # the interviewer digs into the same area right away
            if ref in bank.items:
                add(bank.items[ref])

    topics = [t for t in INTERVIEW_ORDER if bank.select(topic=t)]
    for topic in topics:  # one lead question per topic, free text preferred
        items = bank.select(topic=topic)
        free = [it for it in items if isinstance(it, FreeTextItem)]
        rng.shuffle(free)
        others = [it for it in items if not isinstance(it, FreeTextItem)]
        rng.shuffle(others)
        lead = [it for it in [*free, *others] if cost(it) <= budget][:1]
        for it in lead:
            add(it)
        if budget < min(minutes_per_free_text, minutes_per_other):
            break
    leftovers = [it for it in bank.free_text() if it.id not in seen]
    rng.shuffle(leftovers)
    for it in leftovers:  # fill remaining time with more free-text deep dives
        add(it)
    return plan


def follow_up_of(plan: list[Item]) -> dict[str, str]:
    """Return {item id: id of the earlier item in the plan that it follows up}."""
    parents: dict[str, str] = {}
    for i, item in enumerate(plan):
        for earlier in plan[:i]:
            if item.id in earlier.follow_ups:
                parents[item.id] = earlier.id
                break
    return parents


def mock(
    bank: Bank,
    store: ProgressStore | None = None,
    *,
    minutes: float = 30,
    seed: int | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Session:
    """Return a timed mock-interview session."""
    return Session(
        items=mock_plan(bank, minutes=minutes, seed=seed),
        store=store,
        deadline=clock() + minutes * 60,
        clock=clock,
    )
