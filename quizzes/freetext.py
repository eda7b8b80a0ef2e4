"""Grade a free-text answer offline against its rubric: points covered, wrong claims made."""

import re
from dataclasses import dataclass

from quizzes.schema import CHAPTERS, FreeTextItem
from quizzes.textnorm import (
    BAR,
    MASK,
    clauses,
    content,
    is_negation,
    prose_ratio,
    sentences,
    tokens,
)
from quizzes.verdict import Grade, rubric_verdict

THRESHOLD = 0.75  # share of a phrasing's content words that must appear close together
MIN_PROSE = 0.1  # function-word share below which a long clause is a keyword list
_ATTRIBUTION = re.compile(
    r"\b(guide|myth|misconception|people (think|say|believe)|claims?|wrong|false|incorrect|"
    r"mistaken|not true|untrue|contrary)\b",
    re.I,
)


@dataclass(frozen=True)
class Match:
    """Where a phrasing matched: clause index, overlap, and whether the answer negated it."""

    clause: int
    overlap: float
    negated: bool
    lo: int = 0
    hi: int = 0


def _phrase(text: str) -> tuple[list[str], bool]:
    toks = tokens(text)
    return content(toks), any(is_negation(toks, i) for i in range(len(toks)))


def _is_prose(clause: list[str]) -> bool:
    # Short clauses pass; a long run of content words without function words is a keyword dump.
    return len(clause) < 6 or prose_ratio(clause) >= MIN_PROSE


def _same(want: str, tok: str) -> bool:
    # Rubric authors may write a prefix ("deregist", "traceab"): match longer words too.
    return tok == want or (len(want) >= 5 and not want[0].isdigit() and tok.startswith(want))


def _present(want: str, span: list[str]) -> bool:
    return any(_same(want, t) for t in span)


def _negated(clause: list[str], lo: int, hi: int) -> bool:
    """Return True if a negation cue sits in the span or up to 4 words before it (same phrase)."""
    if any(is_negation(clause, i) for i in range(lo, hi)):
        return True
    for i in range(lo - 1, max(-1, lo - 5), -1):
        if clause[i] == BAR:
            return False
        if is_negation(clause, i):
            return True
    return False


def find(
    phrasing: str,
    answer_clauses: list[list[str]],
    threshold: float = THRESHOLD,
    skip: frozenset[int] = frozenset(),
):
    """Return the best Match of a phrasing in the answer's clauses (minus `skip`), or None."""
    want, _ = _phrase(phrasing)
    if not want:
        return None
    need = set(want)
    numbers = {t for t in need if t[0].isdigit()}
    window = max(6, 2 * len(need) + 2)
    best: Match | None = None
    for ci, clause in enumerate(answer_clauses):
        if ci in skip or not _is_prose(clause):
            continue
        for start in range(max(1, len(clause) - window + 1)):
            span = clause[start : start + window]
            got = {t for t in need if _present(t, span)}
            overlap = len(got) / len(need)
            ok = overlap >= (1.0 if len(need) <= 2 else threshold) and numbers <= got
            if not ok or (best and best.overlap >= overlap):
                continue
            hits = [start + i for i, t in enumerate(span) if any(_same(g, t) for g in got)]
            lo, hi = hits[0], hits[-1]
            best = Match(ci, overlap, _negated(clause, lo, hi), lo, hi)
    return best


def _matched(phrasings, answer_clauses, threshold, skip=frozenset()) -> tuple[list[Match], bool]:
    """Return (asserting matches, denied?) for phrasings, comparing polarity with each."""
    asserted, denied = [], False
    for p in phrasings:
        m = find(p, answer_clauses, threshold, skip)
        if m is None:
            continue
        if m.negated == _phrase(p)[1]:
            asserted.append(m)
        else:
            denied = True
    return asserted, denied


def _mask(answer_clauses: list[list[str]], spans: list[Match]) -> list[list[str]]:
    """Blank out the words a wrong claim used, so they cannot also earn a point."""
    out = [list(c) for c in answer_clauses]
    for m in spans:
        for i in range(m.lo, m.hi + 1):
            out[m.clause][i] = MASK
    return out


def looks_like_keywords(answer: str) -> bool:
    """Return True when the answer is a keyword list rather than sentences."""
    cl = clauses(answer)
    words = sum(len(c) for c in cl)
    prose = [c for c in cl if len(c) >= 4 and prose_ratio(c) >= 0.15]
    return words >= 4 and not prose


def grade_free_text(item: FreeTextItem, answer: str, threshold: float = THRESHOLD) -> Grade:
    """Grade an answer offline: covered points, wrong claims (negation-aware), verdict, feedback."""
    rubric = item.rubric
    # Clauses, each flagged when its sentence reports someone else's claim ("the guide says
    # X, which is wrong"): such a claim is not the learner's own.
    flagged = [
        (c, bool(_ATTRIBUTION.search(s))) for s in sentences(answer or "") for c in clauses(s)
    ]
    cl = [c for c, _ in flagged]
    if not content([t for c in cl for t in c]):
        return _grade(item, [], [], [], [], note="No answer given.")
    reported = frozenset(i for i, (_, rep) in enumerate(flagged) if rep)
    own = frozenset(range(len(cl))) - reported
    made, rejected, spans = [], [], []
    for claim in rubric.wrong_claims:
        # Penalties need specific evidence: match the claim's phrasings, not its description
        # (which shares the topic's vocabulary with right answers).
        phrasings = claim.phrasings or [claim.text]
        asserted, denied = _matched(phrasings, cl, threshold, skip=reported)
        if asserted:
            made.append(claim.text)
            spans += asserted
        elif denied or _matched(phrasings, cl, threshold, skip=own)[0]:
            rejected.append(claim.text)
    masked = _mask(cl, spans)
    covered = [
        p.id for p in rubric.points if _matched([p.text, *p.phrasings], masked, threshold)[0]
    ]
    note = ""
    if looks_like_keywords(answer):
        note = "This reads like a list of keywords; answer in sentences, as in an interview."
        covered = []
    missed = [p.id for p in rubric.points if p.id not in covered]
    return _grade(item, covered, missed, made, rejected, note=note)


def coverage_of(item: FreeTextItem, covered: list[str]) -> float:
    """Return the share of rubric weight covered (0..1)."""
    total = sum(p.weight for p in item.rubric.points)
    return sum(p.weight for p in item.rubric.points if p.id in covered) / total


def score_of(item: FreeTextItem, covered: list[str], made: list[str]) -> float:
    """Return weight covered minus penalties, over total weight, clamped to 0..1."""
    total = sum(p.weight for p in item.rubric.points)
    penalty = sum(c.penalty for c in item.rubric.wrong_claims if c.text in made)
    return max(0.0, min(1.0, coverage_of(item, covered) - penalty / total))


def verdict_of(item: FreeTextItem, covered: list[str], made: list[str]) -> tuple[str, float]:
    """Return (verdict, score) by the one rule both graders share."""
    score = score_of(item, covered, made)
    return rubric_verdict(coverage_of(item, covered), score, len(made)), score


def _grade(item, covered, missed, made, rejected, *, note: str, grader: str = "offline") -> Grade:
    verdict, score = verdict_of(item, covered, made)
    return Grade(
        item_id=item.id,
        verdict=verdict,
        score=round(score, 3),
        covered=covered,
        missed=missed or [p.id for p in item.rubric.points if p.id not in covered],
        wrong_claims=made,
        rejected_claims=rejected,
        feedback=feedback(item, covered, made, rejected, verdict, note),
        grader=grader,
    )


def feedback(item: FreeTextItem, covered, made, rejected, verdict: str, note: str = "") -> str:
    """Write feedback: missed points, wrong claims, the model answer, the chapter to revisit."""
    lines = [note] if note else []
    lines.append({"good": "Good answer.", "partial": "Partly there.", "wrong": "Not yet."}[verdict])
    missed = [p.text for p in item.rubric.points if p.id not in covered]
    if missed:
        lines.append("Missed: " + "; ".join(missed) + ".")
    if made:
        lines.append("Wrong claims: " + "; ".join(made) + ".")
    if rejected:
        lines.append("Rightly rejected: " + "; ".join(rejected) + ".")
    lines.append("Model answer: " + item.model_answer.strip())
    if verdict != "good":
        lines.append(f"Revisit chapter {item.chapter} ({CHAPTERS.get(item.chapter, '?')}).")
    return "\n".join(lines)
