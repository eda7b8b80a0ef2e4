"""A question as asked (options in the order shown, its time box) and an answer as given."""

from dataclasses import dataclass
from datetime import datetime

from quizzes.schema import (
    Item,
    MultipleItem,
    OrderingItem,
    RubricPoint,
    SingleItem,
    SpotTheBugItem,
)
from quizzes.verdict import Grade


def options(item: Item) -> list[str]:
    """Return an item's choices or steps in their authored order ([] for other types)."""
    if isinstance(item, OrderingItem):
        return list(item.steps)
    return list(getattr(item, "choices", []))


def right_indices(item: Item) -> set[int]:
    """Return the authored indices of the right choice(s) of a choice item."""
    if isinstance(item, SingleItem | SpotTheBugItem):
        return {item.answer}
    return set(item.answer) if isinstance(item, MultipleItem) else set()


@dataclass
class Question:
    """One question as asked: the item, the order its options are shown in, its time box."""

    item: Item
    position: int  # 1-based position in the session
    order: list[int] | None = None  # shown position -> authored index (choices or steps)
    box: float | None = None  # seconds; None: untimed
    parent: str | None = None  # id of the item this follows up
    point: RubricPoint | None = None  # the missed point a follow-up probes
    probe: bool = False  # built from the missed point: graded on it alone, not recorded
    started: float | None = None  # clock() when shown

    def shown(self) -> list[str]:
        """Return the options in the order shown."""
        opts = options(self.item)
        return [opts[i] for i in self.order] if self.order is not None else opts

    def number(self, index: int) -> int:
        """Return the 1-based number an authored option index was shown under."""
        return (self.order.index(index) if self.order is not None else index) + 1

    def label(self, index: int) -> str:
        """Return an authored option index as the learner saw it: 'number. text'."""
        return f"{self.number(index)}. {options(self.item)[index]}"


@dataclass
class Answered:
    """One answered question: the grade, how long it took, and when it is due again."""

    item: Item
    answer: object
    grade: Grade
    question: Question | None = None
    seconds: float | None = None
    penalty: float = 0.0  # share of the score lost to overtime
    due: datetime | None = None

    @property
    def overtime(self) -> float:
        """Return the seconds spent beyond the time box (0 when within it or untimed)."""
        box = self.question.box if self.question is not None else None
        if box is None or self.seconds is None:
            return 0.0
        return max(0.0, self.seconds - box)

    @property
    def score(self) -> float:
        """Return the grade's score less the overtime penalty."""
        return round(self.grade.score * (1 - self.penalty), 3)

    @property
    def answer_text(self) -> str:
        """Return the answer as the learner gave it: option numbers with their text."""
        return answer_text(self.item, self.answer, self.question)


def answer_text(item: Item, answer: object, question: Question | None = None) -> str:
    """Return an answer for display: '2. text' for choices, never a bare 0-based index."""
    q = question or Question(item, 0)
    if isinstance(item, SingleItem | SpotTheBugItem) and isinstance(answer, int):
        return q.label(answer)
    if isinstance(item, MultipleItem | OrderingItem) and isinstance(answer, list | tuple):
        picks = answer if isinstance(item, OrderingItem) else sorted(answer, key=q.number)
        return "; ".join(q.label(i) for i in picks)
    return str(answer)
