"""Schedule reviews with FSRS: a grade becomes a Rating, a card gets its next due date."""

from datetime import UTC, datetime

from fsrs import Card, Rating, Scheduler

from quizzes.verdict import Grade

_SCHEDULER = Scheduler(enable_fuzzing=False)  # deterministic due dates (tests, reproducible)
DAY = 86400.0


def rating_for(grade: Grade) -> Rating:
    """Map a grade to an FSRS rating: perfect -> Easy, good -> Good, partial -> Hard, wrong -> Again."""
    if grade.verdict == "wrong":
        return Rating.Again
    if grade.verdict == "partial":
        return Rating.Hard
    return Rating.Easy if grade.score >= 1.0 and grade.grader != "self" else Rating.Good


def new_card() -> Card:
    """Return a fresh card (due now)."""
    return Card()


def review(card: Card | None, grade: Grade, now: datetime | None = None) -> Card:
    """Return the card after reviewing it with this grade at `now` (UTC)."""
    now = now or datetime.now(UTC)
    card, _log = _SCHEDULER.review_card(card or Card(due=now), rating_for(grade), now)
    return card


def retrievability(card: Card, now: datetime | None = None) -> float:
    """Return FSRS's probability (0..1) that the learner recalls the card at `now`."""
    # R = (1 + FACTOR * t / S) ** DECAY with t in fractional days since the last review
    # (py-fsrs rounds t down to whole days, so it reports 1.0 all through the first day).
    if card.last_review is None or not card.stability:
        return 0.0
    elapsed = max(0.0, ((now or datetime.now(UTC)) - card.last_review).total_seconds() / DAY)
    decay = -_SCHEDULER.parameters[20]
    factor = 0.9 ** (1 / decay) - 1
    return (1 + factor * elapsed / card.stability) ** decay
