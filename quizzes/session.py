"""Run drills and timed mock interviews: ask, time, grade and record each answer."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from quizzes import followup
from quizzes.grading import grade, parse_answer
from quizzes.loader import Bank
from quizzes.plan import INTERVIEW_ORDER, Level, follow_up_of, mock_plan
from quizzes.progress import ProgressStore
from quizzes.question import Answered, Question, answer_text, options, right_indices
from quizzes.schema import (
    FreeTextItem,
    Item,
    MultipleItem,
    OrderingItem,
    RubricPoint,
    SingleItem,
    SpotTheBugItem,
)
from quizzes.timebox import DEFAULT_BOXES, TimeBoxes, overtime_penalty
from quizzes.verdict import Grade, SelfRating

# Grades a free-text answer instead of the offline rubric matcher (llmgrade.LLMGrader).
FreeTextGrader = Callable[[FreeTextItem, str], Grade]

__all__ = [  # the plan's and the question's names too: notebooks import them from here
    "INTERVIEW_ORDER",
    "Answered",
    "FreeTextGrader",
    "Question",
    "Session",
    "answer_text",
    "drill",
    "follow_up_of",
    "mock",
    "mock_plan",
]


@dataclass
class Session:
    """A drill or a mock interview: the planned items, the answers so far, the clock."""

    items: list[Item]
    store: ProgressStore | None = None
    deadline: float | None = None  # clock() seconds
    clock: Callable[[], float] = time.monotonic
    answered: list[Answered] = field(default_factory=list)
    bank: Bank | None = None  # where listed follow-ups are looked up
    boxes: TimeBoxes | None = None  # time boxes per question; None: untimed
    follow_ups: bool = False  # ask a follow-up when a spoken answer missed a point
    seed: int | None = None
    minutes: float | None = None
    level: str | None = None
    grader: FreeTextGrader | None = None  # free-text answers; None: the offline grader
    started: float = field(init=False)
    _pos: int = field(default=0, init=False, repr=False)
    _pending: tuple[followup.FollowUp, str] | None = field(default=None, init=False, repr=False)
    _asked: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.started = self.clock()
        self._rng = random.Random(self.seed)

    def time_left(self) -> float | None:
        """Return seconds left, or None if untimed."""
        return None if self.deadline is None else max(0.0, self.deadline - self.clock())

    def expired(self) -> bool:
        """Return True once the deadline has passed."""
        return self.deadline is not None and self.clock() >= self.deadline

    def elapsed(self) -> float:
        """Return seconds since the session started."""
        return self.clock() - self.started

    def _order(self, item: Item) -> list[int] | None:
        """Shuffle steps always, and choices when the item repeats, so positions aren't learnt."""
        n = len(options(item))
        if n < 2:
            return None
        repeat = item.id in self._asked or (
            self.store is not None and self.store.card(item.id) is not None
        )
        if not isinstance(item, OrderingItem) and not repeat:
            return None
        right = right_indices(item)
        order = list(range(n))
        for _ in range(50):  # the right option(s) must move, else a learnt position still works
            self._rng.shuffle(order)
            moved = {order.index(i) for i in right} != right if right else True
            if order != sorted(order) and moved:
                break
        return order

    def question(
        self,
        item: Item,
        *,
        parent: str | None = None,
        point: RubricPoint | None = None,
        probe: bool = False,
    ) -> Question:
        """Return a question for an item: options order, time box (clipped to the time left)."""
        box = None
        if self.boxes is not None:
            box = self.boxes.for_item(item, follow_up=parent is not None)
            left = self.time_left()
            box = box if left is None else min(box, left)
        q = Question(item, len(self.answered) + 1, self._order(item), box, parent, point, probe)
        if not probe:
            self._asked.add(item.id)
        return q

    def next_question(self) -> Question | None:
        """Return the next question (a pending follow-up first); None when done or out of time."""
        if self.expired():
            return None
        q = None
        if self._pending is not None:
            fu, parent = self._pending
            self._pending = None
            left = self.time_left()
            fits = left is None or self.boxes is None or left >= self.boxes.follow_up
            if fits and (fu.probe or fu.item.id not in self._asked):
                q = self.question(fu.item, parent=parent, point=fu.point, probe=fu.probe)
        while q is None and self._pos < len(self.items):
            item = self.items[self._pos]
            self._pos += 1
            if item.id not in self._asked:
                q = self.question(item)
        if q is not None:
            q.started = self.clock()
        return q

    def submit(self, question: Question, text: str, *, now: datetime | None = None) -> Answered:
        """Read what the learner typed (option numbers as shown), grade it, return the answer."""
        item = question.item
        if isinstance(item, OrderingItem):
            parsed = parse_answer(item, text, question.order)
        else:
            parsed = parse_answer(item, text)
            if question.order is not None and isinstance(item, SingleItem | SpotTheBugItem):
                parsed = question.order[parsed]
            elif question.order is not None and isinstance(item, MultipleItem):
                parsed = sorted(question.order[i] for i in parsed)
        self.answer(item, parsed, now=now, question=question)
        return self.answered[-1]

    def answer(
        self,
        item: Item,
        answer: object,
        *,
        now: datetime | None = None,
        question: Question | None = None,
        **kw,
    ) -> Grade:
        """Grade and time an answer; store it unless the grader is unsure (see `rate`)."""
        if self.grader is not None and isinstance(item, FreeTextItem):
            g = self.grader(item, str(answer or ""))
        else:
            g = grade(item, answer, **kw)
        seconds = None
        if question is not None and question.started is not None:
            seconds = self.clock() - question.started
        box = question.box if question is not None else None
        done = Answered(item, answer, g, question, seconds, overtime_penalty(seconds or 0, box))
        self.answered.append(done)
        if not g.needs_self_rating:
            self._settle(done, now)
        return g

    def rate(
        self, answered: Answered, rating: SelfRating | None, *, now: datetime | None = None
    ) -> Answered:
        """Settle an unsure grade with the learner's own rating (None keeps the grader's)."""
        if rating is not None:
            answered.grade = answered.grade.rated(rating)
        self._settle(answered, now)
        return answered

    def _settle(self, done: Answered, now: datetime | None) -> None:
        """Store a final grade as progress and queue the follow-up its missed points call for."""
        item, q, g = done.item, done.question, done.grade
        if self.store is not None and not (q is not None and q.probe):
            state = self.store.record(
                item.id, item.topic, g, answer=done.answer_text, now=now or datetime.now(UTC)
            )
            done.due = state.due
        first = q is not None and q.parent is None  # one follow-up per question
        # an unsure grader's missed points are doubtful once the learner rated the answer good
        doubtful = g.self_rating == "good"
        if self.follow_ups and first and isinstance(item, FreeTextItem) and not doubtful:
            fu = followup.choose(item, g, self.bank, self._asked)
            self._pending = (fu, item.id) if fu is not None else None

    def report(self) -> dict[str, dict[str, float]]:
        """Return {topic: {answered, score, overtime}}: mean score after overtime, count over."""
        by_topic: dict[str, list[Answered]] = {}
        for a in self.answered:
            by_topic.setdefault(a.item.topic, []).append(a)
        return {
            t: {
                "answered": len(rows),
                "score": round(sum(a.score for a in rows) / len(rows), 3),
                "overtime": sum(a.overtime > 0 for a in rows),
            }
            for t, rows in by_topic.items()
        }

    def overall(self) -> float:
        """Return the mean score (after overtime) over every answered item (0 if none)."""
        scores = [a.score for a in self.answered]
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
    grader: FreeTextGrader | None = None,
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
    items = (due + unseen + later)[:count]
    return Session(items=items, store=store, bank=bank, seed=seed, grader=grader)


def mock(
    bank: Bank,
    store: ProgressStore | None = None,
    *,
    minutes: float = 30,
    level: Level | str | None = None,
    seed: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: datetime | None = None,
    boxes: TimeBoxes = DEFAULT_BOXES,
    grader: FreeTextGrader | None = None,
) -> Session:
    """Return a timed mock interview: planned by weakness and level, with follow-ups."""
    plan = mock_plan(bank, store, minutes=minutes, level=level, seed=seed, now=now, boxes=boxes)
    start = clock()
    return Session(
        items=plan,
        store=store,
        deadline=start + minutes * 60,
        clock=clock,
        bank=bank,
        boxes=boxes,
        follow_ups=True,
        seed=seed,
        minutes=minutes,
        level=str(level) if level is not None else None,
        grader=grader,
    )
