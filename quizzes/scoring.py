"""Score an answer's rubric coverage, decide its verdict, and say how sure that verdict is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from quizzes.keywords import asks_to_explain
from quizzes.schema import FreeTextItem, WrongClaim
from quizzes.verdict import GOOD_SCORE, PARTIAL_COVERAGE, rubric_verdict

if TYPE_CHECKING:
    from quizzes.freetext import Evidence

LIST_SCORE_CAP = 0.69  # a keyword list scores at most the top of the partial band
# Confidence (calibrated on the tuning set of bench/quiz_grading.py):
# Doubts kept are those that mark verdicts less often right than the rest (bench/quiz_grading.py
# calibration); a few right points beside a contradicted one proved no doubt (0.86 agreement).
BOUNDARY_BAND = 0.05  # a score this close to a verdict's threshold is a coin flip
LOW_BAND = 0.2  # ...and coverage this close under the partial line: thin answers split labels
LONG_ANSWER = 25  # content words from which an answer that is not good may be a paraphrase...
LONG_PARTIAL = 12  # ...or, graded partial, may hold the rest in words the rubric does not list
LONG_ANSWER_SPAN = 10  # ...and this many more make it likely


def coverage_of(item: FreeTextItem, covered: list[str]) -> float:
    """Return the share of rubric weight covered (0..1)."""
    total = sum(p.weight for p in item.rubric.points)
    return sum(p.weight for p in item.rubric.points if p.id in covered) / total


def score_of(item: FreeTextItem, covered: list[str], made: list[WrongClaim]) -> float:
    """Return weight covered minus penalties, over total weight, clamped to 0..1."""
    total = sum(p.weight for p in item.rubric.points)
    penalty = sum(c.penalty for c in made)
    return max(0.0, min(1.0, coverage_of(item, covered) - penalty / total))


def contradicted_by(made: list[WrongClaim]) -> list[str]:
    """Return the rubric point ids the wrong claims contradict."""
    return list(dict.fromkeys(c.contradicts for c in made if c.contradicts))


def verdict_of(
    item: FreeTextItem,
    covered: list[str],
    made: list[WrongClaim],
    *,
    listed: bool = False,
    words: int = 0,
) -> tuple[str, float]:
    """Return (verdict, score) by the one rule both graders share (listed: a keyword list)."""
    score = score_of(item, covered, made)
    if listed and asks_to_explain(item.question):
        return "wrong", min(score, LIST_SCORE_CAP)  # names cannot explain: no answer
    coverage = coverage_of(item, covered)
    verdict = rubric_verdict(
        coverage, score, len(made), contradicted=bool(contradicted_by(made)), listed=listed
    )
    # A point earned in under a dozen content words, with nothing wrong said, is a thin answer,
    # not a wrong one: a longer answer that earns one point spends its other words elsewhere
    # (words: the answer's content words, 0 when unknown).
    if verdict == "wrong" and not (made or listed) and coverage and 0 < words < LONG_PARTIAL:
        verdict = "partial"
    if listed:
        score = min(score, LIST_SCORE_CAP)  # in the band of its verdict, at most partial
    return verdict, score


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def boundary_doubt(coverage: float, score: float, made: list[WrongClaim]) -> float:
    """Return 0..1: how close the verdict sits to the line between two verdicts."""
    if contradicted_by(made) or (made and score <= 0.0):
        return 0.0  # decided by a wrong claim, not by a threshold
    if coverage < PARTIAL_COVERAGE:
        return _clamp(1.0 - (PARTIAL_COVERAGE - coverage) / LOW_BAND)
    elif made or score < GOOD_SCORE:
        margin = min(coverage - PARTIAL_COVERAGE, GOOD_SCORE - score if not made else 1.0)
    else:
        margin = score - GOOD_SCORE
    return _clamp(1.0 - margin / BOUNDARY_BAND)


def confidence_of(item: FreeTextItem, ev: Evidence) -> float:
    """Return how sure the offline grader is of its verdict (0..1; low: ask the learner)."""
    if not ev.words:
        return 1.0
    verdict, _ = verdict_of(item, ev.covered, ev.made, listed=ev.keywords, words=ev.words)
    if ev.keywords:
        # names without explanations: once they name a quarter of the rubric, partial or
        # wrong is the interviewer's call, unless the question asked to explain
        named = coverage_of(item, ev.covered) >= PARTIAL_COVERAGE and not ev.made
        named = named and not asks_to_explain(item.question)
        return 0.0 if named else 1.0
    coverage = coverage_of(item, ev.covered)
    score = score_of(item, ev.covered, ev.made)
    # An answer that said more than it matched may say the rest in words the rubric does not
    # list: a partial one from a dozen content words on, a wrong one from two dozen.
    long = {"partial": LONG_PARTIAL, "wrong": LONG_ANSWER}.get(verdict)
    unseen = 0.0 if long is None else _clamp((ev.words - long) / LONG_ANSWER_SPAN)
    doubt = max(boundary_doubt(coverage, score, ev.made), unseen)
    return round(1.0 - doubt, 3)
