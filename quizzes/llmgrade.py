"""Grade a free-text answer with a chat model, returning the same `Grade` as the offline grader."""

import json
from typing import Any

from quizzes.errors import GradingError
from quizzes.freetext import feedback, grade_free_text, verdict_of
from quizzes.schema import FreeTextItem
from quizzes.verdict import Grade

_SYSTEM = (
    "You are a strict interviewer grading a spoken answer about deploying a service on AWS ECS "
    "Fargate. Use ONLY the rubric. A point is covered when the answer states it in substance, "
    "even in other words; keywords without a claim do not count. A wrong claim counts only when "
    "the candidate asserts it, not when they deny it or attribute it to someone else. Return "
    "the rubric point ids covered and missed, the texts of the wrong claims made and denied, "
    "and one or two sentences of feedback."
)


def build_messages(item: FreeTextItem, answer: str) -> list[tuple[str, str]]:
    """Return the (role, text) messages sent to the chat model."""
    rubric = {
        "points": [{"id": p.id, "text": p.text} for p in item.rubric.points],
        "wrong_claims": [c.text for c in item.rubric.wrong_claims],
    }
    human = (
        f"Question: {item.question}\nModel answer: {item.model_answer}\n"
        f"Rubric: {json.dumps(rubric)}\nCandidate answer: {answer}"
    )
    return [("system", _SYSTEM), ("human", human)]


def grade_with_llm(item: FreeTextItem, answer: str, chat_model: Any) -> Grade:
    """Ask `chat_model` (any LangChain chat model) for a structured Grade; keep it to the rubric."""
    if not (answer or "").strip():
        return grade_free_text(item, "")  # never spend a call (or trust one) on nothing
    try:
        raw = chat_model.with_structured_output(Grade).invoke(build_messages(item, answer))
    except Exception as exc:  # provider errors, refusals, schema mismatches
        raise GradingError(f"LLM grading failed for {item.id}: {exc}") from exc
    if isinstance(raw, dict):
        raw = Grade.model_validate(raw)
    if not isinstance(raw, Grade):
        raise GradingError(f"LLM grading for {item.id} returned {type(raw).__name__}, not a Grade")
    ids = [p.id for p in item.rubric.points]
    claims = [c.text for c in item.rubric.wrong_claims]
    covered = [i for i in ids if i in raw.covered]
    made = [c for c in claims if c in raw.wrong_claims]
    rejected = [c for c in claims if c in raw.rejected_claims and c not in made]
    # Score and verdict come from the same rule as the offline grader, not from the model.
    verdict, score = verdict_of(item, covered, made)
    note = raw.feedback.strip()
    return Grade(
        item_id=item.id,
        verdict=verdict,
        score=round(score, 3),
        covered=covered,
        missed=[i for i in ids if i not in covered],
        wrong_claims=made,
        rejected_claims=rejected,
        grader="llm",
        feedback=feedback(item, covered, made, rejected, verdict, note),
    )
