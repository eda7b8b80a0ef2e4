"""Schedule reviews with FSRS: a grade becomes a Rating, a card gets its next due date."""

from datetime import UTC, datetime

from fsrs import Card, Rating, Scheduler

from quizzes.verdict import Grade

_SCHEDULER = Scheduler(enable_fuzzing=False)  # deterministic due dates (tests, reproducible)


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
    """Return the probability (0..1) the learner still recalls the card at `now`."""
    return _SCHEDULER.get_card_retrievability(card, now or datetime.now(UTC))
