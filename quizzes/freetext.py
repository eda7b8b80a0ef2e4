"""Grade a free-text answer offline against its rubric: points covered, wrong claims made."""

import re
from dataclasses import dataclass

from quizzes.keywords import looks_like_keywords, pasted_rubric
from quizzes.matching import THRESHOLD, Match, assign, find, mask, matched, phrase
from quizzes.relations import Swap, mentions, swaps
from quizzes.schema import CHAPTERS, FreeTextItem, WrongClaim
from quizzes.scoring import (
    confidence_of,
    contradicted_by,
    verdict_of,
)
from quizzes.textnorm import (
    NEGATIONS,
    clauses,
    content,
    governing,
    segments,
    sentences,
    tokens,
    units,
)
from quizzes.verdict import UNSURE_BELOW, Grade

MAX_LIST_ITEMS = 9  # a spoken list holds 7 ± 2 items: a longer one is a dump of terms
SWAP_PENALTY = 1.0  # an action given to the wrong one of a confused pair (quizzes/relations.py)
# A denied key point (_denied_points) needs a denial of the fact, not a condition ("if X isn't
# enough"), a story of a failure ("X couldn't start") or a point that is itself a lack.
_HYPOTHETICAL = frozenset({"if", "unless", "when", "whether", "until"})
_NARRATIVE = frozenset({"could", "did", "was", "were", "had"})
_PRIVATIVE = frozenset({"lack", "miss", "absent"})  # stems of words that say "not there"
# "wrong" deep in a sentence does not report a claim: "a 502 means the health check path is
# wrong" is the learner's own diagnosis, "the sub claim" a token's field; "The 53% is wrong",
# "it's wrong that X", "X is a myth", "the guide says X", "the claim that X" report one.
_ATTRIBUTION = re.compile(
    r"\b(guide|myth|misconception|people (think|say|believe)|claims? that|claimed|not true|"
    r"untrue|contrary|"
    r"(wrong|false|incorrect|mistaken) (to (say|think|assume|believe)|that|idea|belief)|"
    r"(that|this|it|which)('s| is| was) (wrong|false|incorrect|mistaken)|"
    r"(saying|to say|thinking|the idea)\b.*\b(is|are|was) (wrong|false|incorrect|mistaken)|"
    r"^\W*([\w%$.]+\W+){1,4}?(is|are|was) (wrong|false|incorrect|mistaken)|"
    r"(wrong|false|incorrect|mistaken)ly)\b",
    re.I,
)


@dataclass(frozen=True)
class Evidence:
    """What the grader found in an answer, before it becomes a verdict."""

    covered: list[str]
    made: list[WrongClaim]
    rejected: list[str]
    keywords: bool = False
    words: int = 0  # content words in the answer
    inferred: tuple[str, ...] = ()  # claims the grader read off swaps and denials, not the rubric


def _swap_claims(item: FreeTextItem, swapped: list[Swap]) -> list[WrongClaim]:
    """Turn swapped roles into wrong claims, each naming the rubric point it contradicts."""
    out: list[WrongClaim] = []
    for sw in swapped:
        # the point that names the real actor, else one that states its action
        said = [(p.id, clauses(". ".join([p.text, *p.phrasings]))) for p in item.rubric.points]
        named = [pid for pid, cl in said if any(mentions(c, sw.owner.names) for c in cl)]
        doing = [pid for pid, cl in said if any(find(a, cl, strict=True) for a in sw.owner.does)]
        hit = (named or doing or [None])[0]
        out.append(WrongClaim(text=sw.text, penalty=SWAP_PENALTY, contradicts=hit))
    return out


def _privative(text: str) -> bool:
    """Return True if a point says something is absent ("lacks CreateLogGroup", "no cache")."""
    return any(t in NEGATIONS or t in _PRIVATIVE for t in tokens(text))


def _denied_in_part(clause: list[str], m: Match) -> bool:
    """Return True if a negation in the match's own comma part denies it (not a list's)."""
    # "if new tasks never start, the old one keeps serving"; "things that aren't sensitive,
    # ENV, PORT": the negation is another part's
    part = next(((s, e) for s, e, _ in units(clause) if s <= m.lo and m.hi < e), None)
    if part is None or not m.negated or clause[part[0]] in _HYPOTHETICAL:
        return False  # "if stickiness isn't enough, ...": a condition, not a claim
    cues = [j for j in governing(clause, [m.lo, m.hi]) if part[0] <= j < part[1]]
    # "the role couldn't pull the image": a story of a failure, not a denial of the fact
    return len(cues) % 2 == 1 and not any(clause[j - 1] in _NARRATIVE for j in cues if j)


def _denied_points(item, answer_clauses, covered, threshold, skip) -> list[WrongClaim]:
    """Turn each key point the answer only states negated ("no redeploy is needed") into a claim."""
    top = max(p.weight for p in item.rubric.points)
    out: list[WrongClaim] = []
    for p in item.rubric.points:
        if p.id in covered or p.weight < top or _privative(p.text):
            continue
        # phrasings only, and positive ones: a point's text describes it, often with its own
        # "no" or "not", and a negative phrasing ("no cache") denied is a double negative
        said = [
            m
            for ph in p.phrasings
            if not phrase(ph)[1] and (m := find(ph, answer_clauses, threshold, skip))
        ]
        if said and all(_denied_in_part(answer_clauses[m.clause], m) for m in said):
            out.append(WrongClaim(text=f"denied: {p.text}", penalty=p.weight, contradicts=p.id))
    return out


def examine(item: FreeTextItem, answer: str, threshold: float = THRESHOLD) -> Evidence:
    """Find the points an answer covers and the wrong claims it makes or denies."""
    rubric = item.rubric
    # Clauses, each flagged when its sentence reports someone else's claim ("the guide says
    # X, which is wrong"): such a claim is not the learner's own.
    flagged = [
        (c, bool(_ATTRIBUTION.search(s.strip())))
        for s in sentences(answer or "")
        for c in clauses(s)
    ]
    cl = [c for c, _ in flagged]
    words = len(content([t for c in cl for t in c]))
    if not words:
        return Evidence([], [], [])
    reported = frozenset(i for i, (_, rep) in enumerate(flagged) if rep)
    own = frozenset(range(len(cl))) - reported
    made: list[WrongClaim] = []
    rejected: list[str] = []
    spans: list[Match] = []
    for claim in rubric.wrong_claims:
        # Penalties need specific evidence: match the claim's phrasings, not its description
        # (which shares the topic's vocabulary with right answers).
        phrasings = claim.phrasings or [claim.text]
        asserted, denied = matched(phrasings, cl, threshold, skip=reported, strict=True)
        if asserted:
            made.append(claim)
            spans += asserted
        elif denied or matched(phrasings, cl, threshold, skip=own, strict=True)[0]:
            rejected.append(claim.text)
    # Swapped roles ("the task role pulls the image"): one claim per actor and clause, none
    # where a rubric claim already said it; their words earn no point either way.
    seen: set[tuple[int, str]] = set()
    swapped: list[Swap] = []
    claimed = list(spans)
    aside: list[Match] = []  # denied swaps: "the task role doesn't pull the image"
    for sw in swaps(cl, skip=reported):
        key = (sw.clause, sw.actor.name)
        if sw.negated:
            if key not in seen:
                rejected.append(sw.text)
            seen.add(key)
            aside.append(Match(sw.clause, 1.0, True, sw.lo, sw.hi))
            continue
        spans.append(Match(sw.clause, 1.0, False, sw.lo, sw.hi))
        if key in seen or any(
            m.clause == sw.clause and m.lo <= sw.hi and sw.lo <= m.hi for m in claimed
        ):
            continue
        seen.add(key)
        swapped.append(sw)
    masked = mask(cl, spans)
    covered = assign(rubric.points, masked, threshold)
    inferred = _swap_claims(item, swapped)
    inferred += _denied_points(item, mask(cl, spans + aside), covered, threshold, reported)
    made += inferred
    keywords = looks_like_keywords(answer) or pasted_rubric(item, answer)
    if keywords:
        # A list names things without explaining them: each item may earn its point (the
        # verdict is at most partial); a dump longer than anyone would say earns nothing.
        items = sum(len(segments(c)) for c in cl)
        covered = [] if items > MAX_LIST_ITEMS else assign(rubric.points, masked, threshold, True)
    return Evidence(covered, made, rejected, keywords, words, tuple(c.text for c in inferred))


def grade_free_text(item: FreeTextItem, answer: str, threshold: float = THRESHOLD) -> Grade:
    """Grade an answer offline: covered points, wrong claims (negation-aware), verdict, feedback."""
    ev = examine(item, answer, threshold)
    if not ev.words:
        note = "No answer given."
    elif ev.keywords:
        note = "This reads like a list of keywords; answer in sentences, as in an interview."
    else:
        note = ""
    return _grade(
        item,
        ev.covered,
        ev.made,
        ev.rejected,
        note=note,
        confidence=confidence_of(item, ev),
        listed=ev.keywords,
        words=ev.words,
    )


def claims_named(item: FreeTextItem, texts: list[str]) -> list[WrongClaim]:
    """Return the item's wrong claims whose texts are listed, in rubric order."""
    return [c for c in item.rubric.wrong_claims if c.text in texts]


def _grade(
    item,
    covered,
    made,
    rejected,
    *,
    note: str,
    confidence: float = 1.0,
    grader: str = "offline",
    listed: bool = False,
    words: int = 0,
) -> Grade:
    verdict, score = verdict_of(item, covered, made, listed=listed, words=words)
    texts = [c.text for c in made]
    return Grade(
        item_id=item.id,
        verdict=verdict,
        score=round(score, 3),
        covered=covered,
        missed=[p.id for p in item.rubric.points if p.id not in covered],
        wrong_claims=texts,
        rejected_claims=rejected,
        contradicted=contradicted_by(made),
        feedback=feedback(
            item,
            covered,
            texts,
            rejected,
            verdict,
            note,
            unsure=confidence < UNSURE_BELOW,
            contradicted=contradicted_by(made),
        ),
        grader=grader,
        confidence=confidence,
        unsure=confidence < UNSURE_BELOW,
    )


def feedback(
    item: FreeTextItem,
    covered,
    made,
    rejected,
    verdict: str,
    note: str = "",
    *,
    unsure: bool = False,
    contradicted: list[str] | tuple[str, ...] = (),
) -> str:
    """Write feedback: missed points, wrong claims, the model answer, the chapter to revisit."""
    lines = [note] if note else []
    lines.append({"good": "Good answer.", "partial": "Partly there.", "wrong": "Not yet."}[verdict])
    if unsure:
        lines.append(
            "The grader is not sure of this one: rate your answer against the checklist "
            "(again / hard / good)."
        )
    missed = [p.text for p in item.rubric.points if p.id not in covered]
    if missed:
        lines.append("Missed: " + "; ".join(missed) + ".")
    if made:
        lines.append("Wrong claims: " + "; ".join(made) + ".")
    against = [p.text for p in item.rubric.points if p.id in contradicted]
    if against:
        lines.append("They contradict: " + "; ".join(against) + ".")
    if rejected:
        lines.append("Rightly rejected: " + "; ".join(rejected) + ".")
    lines.append("Model answer: " + item.model_answer.strip())
    if verdict != "good":
        lines.append(f"Revisit chapter {item.chapter} ({CHAPTERS.get(item.chapter, '?')}).")
    return "\n".join(lines)


def checklist(item: FreeTextItem, grade: Grade | None = None) -> list[tuple[str, bool | None]]:
    """Return the rubric's points as a checklist: (text, covered per the grader, or None)."""
    return [(p.text, None if grade is None else p.id in grade.covered) for p in item.rubric.points]
