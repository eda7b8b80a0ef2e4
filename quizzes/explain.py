"""Explain a graded answer: right options by number and text, what was missed, time, due date."""

from datetime import UTC, datetime

from quizzes.question import Answered, Question, right_indices
from quizzes.schema import FreeTextItem, MultipleItem, OrderingItem, SingleItem, SpotTheBugItem
from quizzes.timebox import clock_text


def _tail(item) -> list[str]:
    lines = [item.explanation]
    if item.correction:
        lines.append(f"Note: {item.correction}")
    return lines


def feedback(a: Answered) -> str:
    """Return feedback for an answer; options are named by their shown number and text."""
    item, q = a.item, a.question or Question(a.item, 0)
    if isinstance(item, SingleItem | SpotTheBugItem):
        if a.grade.correct:
            return "\n".join(["Correct.", *_tail(item)])
        return "\n".join([f"Right answer: {q.label(item.answer)}", *_tail(item)])
    if isinstance(item, MultipleItem):
        picked, right = set(a.answer), right_indices(item)
        if picked == right:
            return "\n".join(["Correct.", *_tail(item)])
        lines = [f"Right answers: {'; '.join(q.label(i) for i in sorted(right, key=q.number))}"]
        if missed := sorted(right - picked, key=q.number):
            lines.append(f"You missed: {'; '.join(q.label(i) for i in missed)}")
        if extra := sorted(picked - right, key=q.number):
            lines.append(f"Not right: {'; '.join(q.label(i) for i in extra)}")
        return "\n".join(lines + _tail(item))
    if isinstance(item, OrderingItem):
        if a.grade.score == 1.0:
            return "\n".join(["Correct.", *_tail(item)])
        steps = " -> ".join(q.label(i) for i in range(len(item.steps)))
        return "\n".join([f"Right order: {steps}", *_tail(item)])
    return a.grade.feedback  # numeric and free text: the grader's own words


def points(a: Answered) -> list[tuple[bool, str]]:
    """Return the rubric points of a free-text answer as (covered?, text)."""
    if not isinstance(a.item, FreeTextItem):
        return []
    covered = set(a.grade.covered)
    return [(p.id in covered, p.text) for p in a.item.rubric.points]


def time_text(a: Answered) -> str:
    """Return how long the answer took against its box, and the overtime cost ('' untimed)."""
    q = a.question
    if q is None or q.box is None or a.seconds is None:
        return ""
    text = f"answered in {clock_text(a.seconds)} of a {clock_text(q.box)} box"
    if a.overtime > 0:
        text += (
            f"; OVERTIME {clock_text(a.overtime)}: score {a.grade.score:.2f} -> {a.score:.2f}"
            f" (-{a.penalty:.0%})"
        )
    return text


def due_text(due: datetime | None, now: datetime | None = None) -> str:
    """Return when an item is next due, e.g. 'next due in 3 days (2026-11-29 09:00 UTC)'."""
    if due is None:
        return ""
    now = now or datetime.now(UTC)
    secs = (due - now).total_seconds()
    if secs <= 60:
        when = "now"
    elif secs < 3600:
        when = f"in {round(secs / 60)} min"
    elif secs < 2 * 86400:
        when = f"in {round(secs / 3600)} h"
    else:
        when = f"in {round(secs / 86400)} days"
    return f"next due {when} ({due.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
