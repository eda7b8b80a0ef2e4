"""Grade an answer to any item type and return a `Grade`."""

import re
from collections.abc import Sequence
from itertools import combinations
from typing import Any, Literal

from quizzes.errors import GradingError
from quizzes.freetext import grade_free_text
from quizzes.schema import (
    FreeTextItem,
    Item,
    MultipleItem,
    NumericItem,
    OrderingItem,
    SingleItem,
    SpotTheBugItem,
)
from quizzes.verdict import Grade, verdict_for

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _choice_feedback(item, ok: bool) -> str:
    return (
        ("Correct. " if ok else "Not quite. ")
        + item.explanation
        + (f"\nNote: {item.correction}" if item.correction else "")
    )


def grade_choice(item: SingleItem | SpotTheBugItem, answer: int) -> Grade:
    """Grade a single-choice or spot-the-bug answer (a 0-based index)."""
    ok = answer == item.answer
    fb = _choice_feedback(item, ok)
    if not ok:
        fb += f"\nAnswer: {item.choices[item.answer]}"
    return Grade(item_id=item.id, verdict="good" if ok else "wrong", score=float(ok), feedback=fb)


def grade_multiple(item: MultipleItem, answer: Sequence[int]) -> Grade:
    """Grade a set of choices: right picks minus wrong picks, over the number of right ones."""
    picked, right = set(answer), set(item.answer)
    score = max(0.0, (len(picked & right) - len(picked - right)) / len(right))
    verdict = "good" if picked == right else verdict_for(score, good=1.1, partial=0.5)
    fb = _choice_feedback(item, picked == right)
    if picked != right:
        fb += "\nAnswer: " + "; ".join(item.choices[i] for i in sorted(right))
    return Grade(item_id=item.id, verdict=verdict, score=round(score, 3), feedback=fb)


def parse_number(answer: Any) -> float:
    """Read a number from an answer such as 3, '3 tasks', '$55.51', '27.8 %' or '1,000'."""
    if isinstance(answer, bool):
        raise GradingError(f"expected a number, got {answer!r}")
    if isinstance(answer, int | float):
        return float(answer)
    found = _NUMBER.search(str(answer).replace(",", ""))
    if not found:
        raise GradingError(f"expected a number, got {answer!r}")
    return float(found.group())


def grade_numeric(item: NumericItem, answer: Any) -> Grade:
    """Grade a number against the (literal or computed) answer within its tolerance."""
    if item.answer is None:
        raise GradingError(f"item {item.id}: computed answer was not resolved (load the bank)")
    value = parse_number(answer)
    expected = item.answer
    ok = abs(value - expected.value) <= expected.tolerance + 1e-9 * max(1.0, abs(expected.value))
    unit = f" {expected.unit}" if expected.unit else ""
    fb = _choice_feedback(item, ok)
    if not ok:
        tol = f" (± {expected.tolerance:g})" if expected.tolerance else ""
        fb += f"\nAnswer: {expected.value:g}{unit}{tol}; you gave {value:g}."
    return Grade(item_id=item.id, verdict="good" if ok else "wrong", score=float(ok), feedback=fb)


def order_score(order: Sequence[int], method: Literal["positions", "kendall"] = "kendall") -> float:
    """Score a permutation of step indices: share in place, or share of pairs in order."""
    n = len(order)
    if method == "positions":
        return sum(i == s for i, s in enumerate(order)) / n
    pairs = list(combinations(range(n), 2))
    return sum(order[i] < order[j] for i, j in pairs) / len(pairs)


def grade_ordering(
    item: OrderingItem, answer: Sequence[int], method: Literal["positions", "kendall"] = "kendall"
) -> Grade:
    """Grade an ordering given as indices into `item.steps` (the right order is 0..n-1)."""
    order = list(answer)
    if sorted(order) != list(range(len(item.steps))):
        raise GradingError(
            f"expected each of the {len(item.steps)} steps exactly once, got {order}"
        )
    score = order_score(order, method)
    verdict = "good" if score == 1.0 else verdict_for(score, good=1.1, partial=0.5)
    fb = _choice_feedback(item, score == 1.0)
    if score < 1.0:
        fb += "\nRight order: " + " -> ".join(item.steps)
    return Grade(item_id=item.id, verdict=verdict, score=round(score, 3), feedback=fb)


def grade(item: Item, answer: Any, **kw: Any) -> Grade:
    """Grade an answer to any item (indices are 0-based; free text is a string)."""
    if isinstance(item, SingleItem | SpotTheBugItem):
        if isinstance(answer, bool) or not isinstance(answer, int):
            raise GradingError(f"expected a choice index, got {answer!r}")
        return grade_choice(item, answer)
    if isinstance(item, MultipleItem):
        return grade_multiple(item, answer)
    if isinstance(item, NumericItem):
        return grade_numeric(item, answer)
    if isinstance(item, OrderingItem):
        return grade_ordering(item, answer, **kw)
    if isinstance(item, FreeTextItem):
        return grade_free_text(item, str(answer or ""), **kw)
    raise GradingError(f"unknown item type {type(item).__name__}")


def parse_answer(item: Item, text: str, shown_order: Sequence[int] | None = None) -> Any:
    """Turn what a user typed into the answer `grade` takes (choices and steps are 1-based)."""
    text = text.strip()
    if isinstance(item, FreeTextItem):
        return text
    if isinstance(item, NumericItem):
        return text
    picks = [p for p in re.split(r"[\s,;]+", text.lower()) if p]
    idx: list[int] = []
    for p in picks:
        if p.isdigit():
            idx.append(int(p) - 1)
        elif len(p) == 1 and p.isalpha():
            idx.append(ord(p) - ord("a"))
        else:
            raise GradingError(f"could not read {p!r}: type choice numbers such as 1 or 1,3")
    n = len(item.steps) if isinstance(item, OrderingItem) else len(item.choices)
    if not idx or any(not 0 <= i < n for i in idx):
        raise GradingError(f"choose numbers between 1 and {n}")
    if isinstance(item, OrderingItem):
        # The user orders the steps as shown; map shown positions back to step indices.
        shown = list(shown_order) if shown_order is not None else list(range(n))
        return [shown[i] for i in idx]
    if isinstance(item, MultipleItem):
        return sorted(set(idx))
    if len(idx) != 1:
        raise GradingError("choose exactly one answer")
    return idx[0]
