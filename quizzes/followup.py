"""Pick the follow-up an interviewer would ask after an answer that missed a key point."""

from dataclasses import dataclass

from quizzes.loader import Bank
from quizzes.schema import FreeTextItem, Item, Rubric, RubricPoint
from quizzes.verdict import Grade
from service.rag.analysis import topic_terms

MIN_OVERLAP = 0.5  # share of the missed point's terms a listed follow-up must mention


@dataclass(frozen=True)
class FollowUp:
    """A follow-up question: a bank item, or a probe built from the missed point."""

    item: Item
    point: RubricPoint
    probe: bool  # True: built from the point, graded on that point alone, not recorded


def missed_points(item: FreeTextItem, grade: Grade) -> list[RubricPoint]:
    """Return the rubric points the answer missed, heaviest first (rubric order on ties)."""
    missed = set(grade.missed)
    points = [p for p in item.rubric.points if p.id in missed]
    return sorted(points, key=lambda p: -p.weight)


def item_text(item: Item) -> str:
    """Return everything an item says: question, answers, rubric, explanation."""
    parts = [item.question, item.explanation]
    parts += getattr(item, "choices", []) + getattr(item, "steps", [])
    if isinstance(item, FreeTextItem):
        parts.append(item.model_answer)
        parts += [p.text for p in item.rubric.points]
    return " ".join(parts)


def overlap(point: RubricPoint, text: str) -> float:
    """Return the share of the point's terms (text and phrasings) that a text mentions."""
    want = topic_terms(" ".join([point.text, *point.phrasings]))
    return len(want & topic_terms(text)) / len(want) if want else 0.0


def probe(item: FreeTextItem, point: RubricPoint) -> FreeTextItem:
    """Return a one-point question that probes a missed point (keeps the item's wrong claims)."""
    text = point.text.rstrip(".")
    question = f"You didn't say {text}. Explain that part: what happens, and why does it matter?"
    # every wrong claim still costs points; one aimed at another point just names none here
    claims = [
        c if c.contradicts in (None, point.id) else c.model_copy(update={"contradicts": None})
        for c in item.rubric.wrong_claims
    ]
    return item.model_copy(
        update={
            "question": question,
            "rubric": Rubric(points=[point], wrong_claims=claims),
            "follow_ups": [],
            "interview_question": None,
        }
    )


def choose(item: FreeTextItem, grade: Grade, bank: Bank | None, asked: set[str]) -> FollowUp | None:
    """Return the follow-up for the heaviest missed point: the best listed item, else a probe."""
    points = missed_points(item, grade)
    if not points:
        return None
    point = points[0]
    listed = [
        bank.items[ref]
        for ref in item.follow_ups
        if bank is not None and ref in bank.items and ref not in asked
    ]
    # An item whose question names the gap beats one that only mentions it in its answer.
    scored = [
        (overlap(point, item_text(it)), overlap(point, it.question), -n, it)
        for n, it in enumerate(listed)
    ]
    fits = [s for s in scored if s[0] >= MIN_OVERLAP]
    if fits:
        best = max(fits, key=lambda s: (s[0] + s[1], isinstance(s[3], FreeTextItem), s[2]))
        return FollowUp(best[3], point, probe=False)
    return FollowUp(probe(item, point), point, probe=True)
