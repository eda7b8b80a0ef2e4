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
    list_like,
    prose_ratio,
    sentences,
    tokens,
)
from quizzes.verdict import Grade, rubric_verdict

THRESHOLD = 0.75  # share of a phrasing's content words that must appear close together
MIN_PROSE = 0.1  # function-word share below which a long clause is a keyword list
MAX_POINTS_PER_CLAUSE = 4
WORDS_PER_POINT = 6  # a clause earns one point, plus one per 6 words, at most 4
CLAIM_THRESHOLD = 0.8  # wrong claims need stronger evidence than points
RUN_ON = 40  # words without any punctuation: not a sentence
LISTY_SHARE = 0.75  # share of an answer's words in list-like clauses that makes it a list
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
    # Short clauses pass; a long run of content words without function words, or a 40-word
    # run without a single comma, is a keyword dump and earns nothing.
    words = [t for t in clause if t != BAR]
    if len(words) > RUN_ON and BAR not in clause:
        return False
    return len(words) < 6 or prose_ratio(words) >= MIN_PROSE


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
    strict: bool = False,
):
    """Return the best Match of a phrasing in the answer's clauses (minus `skip`), or None.

    strict (for wrong claims): phrasings of up to 4 words must match in full.
    """
    short, threshold = (4, max(threshold, CLAIM_THRESHOLD)) if strict else (2, threshold)
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
            ok = overlap >= (1.0 if len(need) <= short else threshold) and numbers <= got
            if not ok or (best and best.overlap >= overlap):
                continue
            hits = [start + i for i, t in enumerate(span) if any(_same(g, t) for g in got)]
            lo, hi = hits[0], hits[-1]
            best = Match(ci, overlap, _negated(clause, lo, hi), lo, hi)
    return best


def _matched(
    phrasings, answer_clauses, threshold, skip=frozenset(), per_clause=False, strict=False
):
    """Return (asserting matches, denied?) for phrasings, comparing polarity with each.

    per_clause: look for the best match in every clause, not only the best overall.
    """
    asserted, denied = [], False
    every = range(len(answer_clauses))
    skips = [frozenset(every) - {ci} for ci in every] if per_clause else [skip]
    for p in phrasings:
        for sk in skips:
            m = find(p, answer_clauses, threshold, sk, strict)
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


def _capacity(clause: list[str]) -> int:
    # A sentence carries one or two ideas; a long run-on listing every point is stuffing.
    words = sum(t != BAR for t in clause)
    return min(MAX_POINTS_PER_CLAUSE, 1 + words // WORDS_PER_POINT)


def _assign(points, answer_clauses: list[list[str]], threshold: float) -> list[str]:
    """Credit points, heaviest first, each to a clause that states it and has room left."""
    room = [_capacity(c) for c in answer_clauses]
    covered = []
    for p in sorted(points, key=lambda p: -p.weight):
        where = sorted(
            {
                m.clause
                for m in _matched(
                    [p.text, *p.phrasings], answer_clauses, threshold, per_clause=True
                )[0]
            }
        )
        free = [ci for ci in where if room[ci] > 0]
        if free:
            room[free[0]] -= 1
            covered.append(p.id)
    return [p.id for p in points if p.id in covered]


def looks_like_keywords(answer: str) -> bool:
    """Return True when the answer is a keyword list rather than sentences."""
    raw = clauses(answer)
    cl = [[t for t in c if t != BAR] for c in raw]
    words = sum(len(c) for c in cl)
    if words < 4:
        return False
    prose = [c for c in cl if len(c) >= 4 and prose_ratio(c) >= 0.15]
    fragments = len(cl) >= 3 and words / len(cl) < 4  # "No cache. CPU only. Buildx."
    listy = sum(len(c) for c, r in zip(cl, raw, strict=True) if list_like(r)) / words
    return not prose or fragments or listy >= LISTY_SHARE


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
        asserted, denied = _matched(phrasings, cl, threshold, skip=reported, strict=True)
        if asserted:
            made.append(claim.text)
            spans += asserted
        elif denied or _matched(phrasings, cl, threshold, skip=own, strict=True)[0]:
            rejected.append(claim.text)
    covered = _assign(rubric.points, _mask(cl, spans), threshold)
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
